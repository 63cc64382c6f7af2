using System.Diagnostics;
using Reconciliation.ReplicaHost;

namespace Reconciliation.ChaosHost;

/// <summary>
/// Every interval, one <c>sample</c> line: working set, GC heap (after a full, blocking collection, so garbage does not
/// read as a leak and finalizers run: an unobserved task exception surfaces at once), threads, open file descriptors
/// (<c>/proc/self/fd</c>), active timers, and this process's CPU time.
/// </summary>
internal sealed class ResourceSampler(TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(interval, time);
            do
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                using var process = Process.GetCurrentProcess();
                var workingSet = process.WorkingSet64;
                var threads = process.Threads.Count;
                var cpu = process.TotalProcessorTime.TotalSeconds;
                int fds;
                try
                {
                    fds = Directory.GetFiles("/proc/self/fd").Length;
                }
                catch (IOException)
                {
                    fds = -1;
                }

                Output.Line("sample", json =>
                {
                    json.WriteNumber("workingSet", workingSet);
                    json.WriteNumber("gcHeap", GC.GetTotalMemory(forceFullCollection: false));
                    json.WriteNumber("threads", threads);
                    json.WriteNumber("fds", fds);
                    json.WriteNumber("timers", Timer.ActiveCount);
                    json.WriteNumber("cpu", cpu);
                });
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
