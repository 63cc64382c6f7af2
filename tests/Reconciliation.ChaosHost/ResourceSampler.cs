using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Reconciliation.ReplicaHost;

namespace Reconciliation.ChaosHost;

/// <summary>
/// Every interval, one <c>sample</c> line: working set, GC heap (after a full, blocking collection, so garbage does not
/// read as a leak and finalizers run: an unobserved task exception surfaces at once), threads, open file descriptors
/// (<c>/proc/self/fd</c>), active timers, and this process's CPU time. To tell what the working set is made of, also
/// its parts from <c>/proc/self/status</c> (anonymous, file-backed, shared memory: the JIT's double-mapped code is
/// shared memory), the GC's committed bytes, and the C allocator's own account (glibc <c>mallinfo2</c>, over every
/// arena): the bytes native code holds allocated, and the bytes freed but kept by the allocator.
/// </summary>
internal sealed partial class ResourceSampler(TimeSpan interval, TimeProvider time) : BackgroundService
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

                var status = ReadStatus();
                var malloc = Malloc.Read();
                var gcCommitted = GC.GetGCMemoryInfo().TotalCommittedBytes;
                Output.Line("sample", json =>
                {
                    json.WriteNumber("workingSet", workingSet);
                    json.WriteNumber("gcHeap", GC.GetTotalMemory(forceFullCollection: false));
                    json.WriteNumber("threads", threads);
                    json.WriteNumber("fds", fds);
                    json.WriteNumber("timers", Timer.ActiveCount);
                    json.WriteNumber("cpu", cpu);
                    json.WriteNumber("rssAnon", status.GetValueOrDefault("RssAnon", -1));
                    json.WriteNumber("rssFile", status.GetValueOrDefault("RssFile", -1));
                    json.WriteNumber("rssShmem", status.GetValueOrDefault("RssShmem", -1));
                    json.WriteNumber("gcCommitted", gcCommitted);
                    if (malloc is { } m)
                    {
                        json.WriteNumber("mallocInUse", m.InUse);
                        json.WriteNumber("mallocFree", m.Free);
                    }
                });
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The <c>kB</c> lines of <c>/proc/self/status</c> we read (RssAnon, RssFile, RssShmem), in bytes.</summary>
    private static Dictionary<string, long> ReadStatus()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line.StartsWith("Rss", StringComparison.Ordinal) && line.EndsWith(" kB", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(colon + 1, line.Length - colon - 4).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
                {
                    values[line[..colon]] = kb * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return values;
    }

    /// <summary>glibc's <c>mallinfo2</c> (2.33 and later); null elsewhere (another C library, another OS).</summary>
    private static partial class Malloc
    {
        private static bool s_unavailable = !OperatingSystem.IsLinux();

        public static (long InUse, long Free)? Read()
        {
            if (s_unavailable)
            {
                return null;
            }

            try
            {
                var info = MallInfo2();
                // In use: small and large chunks handed out from the arenas, plus chunks mapped on their own (hblkhd).
                // Free: what the arenas hold freed but have not given back to the system.
                return ((long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                s_unavailable = true;
                return null;
            }
        }

        [LibraryImport("libc", EntryPoint = "mallinfo2")]
        private static partial MallInfo MallInfo2();

        [StructLayout(LayoutKind.Sequential)]
        private readonly struct MallInfo
        {
            public readonly nuint Arena;
            public readonly nuint Ordblks;
            public readonly nuint Smblks;
            public readonly nuint Hblks;
            public readonly nuint Hblkhd;
            public readonly nuint Usmblks;
            public readonly nuint Fsmblks;
            public readonly nuint Uordblks;
            public readonly nuint Fordblks;
            public readonly nuint Keepcost;
        }
    }
}
