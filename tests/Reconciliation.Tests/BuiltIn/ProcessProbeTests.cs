using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.BuiltIn;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.BuiltIn;

/// <summary>
/// The process signals read process-wide quantities (memory, the thread pool, every exception thrown): these tests run
/// alone, so other tests' allocations, work items and exceptions cannot move them.
/// </summary>
[CollectionDefinition(nameof(ProcessProbeTests), DisableParallelization = true)]
public sealed class ProcessWideSignals;

[Collection(nameof(ProcessProbeTests))]
public sealed class ProcessProbeTests
{
    private const int WorkingSet = 0;
    private const int GcHeap = 1;
    private const int QueueLength = 2;
    private const int ExceptionsRate = 3;

    private const int Allocation = 64 * 1024 * 1024;

    [Fact]
    public async Task The_process_probe_is_registered_by_default_and_writes_every_signal()
    {
        await using var harness = EngineHarness.Create(null, _ => { });
        var report = await harness.TickAsync();

        Assert.InRange(report.ValueOf(SignalNames.ProcessWorkingSet, ProcessProbe.ResourceName)!.Value, 1024 * 1024, 1L << 40);
        Assert.InRange(report.ValueOf(SignalNames.ProcessGcHeapSize, ProcessProbe.ResourceName)!.Value, 1, 1L << 40);
        Assert.InRange(report.ValueOf(SignalNames.ProcessThreadPoolQueueLength, ProcessProbe.ResourceName)!.Value, 0, 1_000_000);
        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, ProcessProbe.ResourceName));
        Assert.Empty(report.ProbeFailures);
    }

    [Fact]
    public async Task The_working_set_is_the_processes_and_grows_by_memory_the_process_touches()
    {
        using var probe = new ProcessProbe(new FakeTimeProvider());
        using var self = Process.GetCurrentProcess();

        self.Refresh();
        var independentBefore = self.WorkingSet64;
        var before = (await ReadAsync(probe))[WorkingSet];
        self.Refresh();
        var independentAfter = self.WorkingSet64;
        AssertNear(before, independentBefore, independentAfter);

        // Native memory, so the GC heap does not move with it; every page written, so it is really mapped.
        var heapBefore = (await ReadAsync(probe))[GcHeap];
        var block = TouchNative(Allocation);
        try
        {
            var values = await ReadAsync(probe);
            self.Refresh();
            Assert.True(values[WorkingSet] - before >= Allocation * 0.75, $"working set {before:N0} -> {values[WorkingSet]:N0} B after touching {Allocation:N0} B");
            AssertNear(values[WorkingSet], self.WorkingSet64, self.WorkingSet64);
            Assert.True(Math.Abs(values[GcHeap] - heapBefore) < Allocation / 2, "native memory moved the GC heap signal: is the working set in its slot?");
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }

    [Fact]
    public async Task The_gc_heap_size_is_the_runtimes_and_grows_by_what_survives_a_collection()
    {
        using var probe = new ProcessProbe(new FakeTimeProvider());
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var independentBefore = GC.GetGCMemoryInfo().HeapSizeBytes;
        var before = (await ReadAsync(probe))[GcHeap];
        var independentAfter = GC.GetGCMemoryInfo().HeapSizeBytes;
        AssertBetween(before, independentBefore, independentAfter);

        var kept = new byte[Allocation];
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        independentBefore = GC.GetGCMemoryInfo().HeapSizeBytes;
        var after = (await ReadAsync(probe))[GcHeap];
        independentAfter = GC.GetGCMemoryInfo().HeapSizeBytes;
        GC.KeepAlive(kept);

        // The runtime's own figure (equal unless a collection ran between the readings), and at least what we kept.
        AssertBetween(after, independentBefore, independentAfter);
        Assert.True(after - before >= Allocation * 0.9, $"GC heap {before:N0} -> {after:N0} B with {Allocation:N0} B more surviving");
    }

    [Fact]
    public async Task The_thread_pool_queue_length_counts_work_items_waiting_for_a_thread()
    {
        using var probe = new ProcessProbe(new FakeTimeProvider());
        const int Waiting = 50;

        // Occupy every pool thread (more blockers than threads, and the pool adds threads only slowly), then queue work
        // behind them: the global queue is first-in first-out, so those items cannot start before the blockers have.
        using var release = new ManualResetEventSlim();
        var blockers = ThreadPool.ThreadCount + 8;
        var ran = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Every blocker must have left Wait before the event is disposed: one still inside it would throw on a pool thread
        // and take the test host down (it did once, in a full run).
        var exited = 0;
        var allExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        double[] busy;
        long independentBefore;
        long independentAfter;
        try
        {
            for (var i = 0; i < blockers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    release.Wait();
                    if (Interlocked.Increment(ref exited) == blockers)
                    {
                        allExited.SetResult();
                    }
                }, null);
            }

            for (var i = 0; i < Waiting; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    if (Interlocked.Increment(ref ran) == Waiting)
                    {
                        done.SetResult();
                    }
                }, null);
            }

            // No await while the pool is occupied: the probe is synchronous.
            independentBefore = ThreadPool.PendingWorkItemCount;
            busy = Read(probe);
            independentAfter = ThreadPool.PendingWorkItemCount;
        }
        finally
        {
            release.Set();
        }

        await done.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await allExited.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(busy[QueueLength] >= Waiting, $"queue length {busy[QueueLength]} with {Waiting} items queued behind {blockers} blockers");
        // The runtime's own count around the reading (a blocker may start, or other work be queued, in between).
        AssertBetween(busy[QueueLength], independentBefore, independentAfter, slack: 8);

        // Every item queued has run (the last one completed the task): the signal is back far below what was queued.
        Assert.True(Read(probe)[QueueLength] < Waiting, "the queue length fell once the pool drained");
    }

    [Fact]
    public async Task The_exception_rate_counts_exceptions_thrown_since_the_previous_reading_per_second_of_the_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var probe = new ProcessProbe(time);
        const int Thrown = 20;
        long all = 0;
        var ours = 0;
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            Interlocked.Increment(ref all);
            if (e.Exception.Message == nameof(ProcessProbeTests))
            {
                Interlocked.Increment(ref ours);
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            // No time has passed since the probe started: no rate yet.
            var first = await ReadAsync(probe);
            Assert.True(double.IsNaN(first[ExceptionsRate]), $"rate {first[ExceptionsRate]} before any time passed");
            var allBefore = Interlocked.Read(ref all);

            Throw(Thrown);
            time.Advance(TimeSpan.FromSeconds(10));
            var second = await ReadAsync(probe);
            var allBetween = Interlocked.Read(ref all) - allBefore;

            // Ours, and at most every exception the process threw between the two readings, over the fake clock's 10 s.
            Assert.Equal(Thrown, ours);
            Assert.InRange(second[ExceptionsRate], Thrown / 10.0, allBetween / 10.0);

            // The next interval starts from the second reading: 5 more over 4 s.
            allBefore = Interlocked.Read(ref all);
            Throw(5);
            time.Advance(TimeSpan.FromSeconds(4));
            var third = await ReadAsync(probe);
            allBetween = Interlocked.Read(ref all) - allBefore;
            Assert.InRange(third[ExceptionsRate], 5 / 4.0, allBetween / 4.0);

            // And nothing thrown: zero, not the old rate.
            allBefore = Interlocked.Read(ref all);
            time.Advance(TimeSpan.FromSeconds(10));
            var quiet = await ReadAsync(probe);
            allBetween = Interlocked.Read(ref all) - allBefore;
            Assert.InRange(quiet[ExceptionsRate], 0, allBetween / 10.0);
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }
    }

    [Fact]
    public async Task A_disposed_probe_stops_counting_exceptions()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var probe = new ProcessProbe(time);
        probe.Dispose();
        Throw(20);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, (await ReadAsync(probe))[ExceptionsRate]);
    }

    private static void Throw(int count)
    {
        for (var i = 0; i < count; i++)
        {
            try
            {
                throw new InvalidOperationException(nameof(ProcessProbeTests));
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Allocates <paramref name="bytes"/> of native memory and writes one byte per page, so every page is mapped.</summary>
    private static IntPtr TouchNative(int bytes)
    {
        var block = Marshal.AllocHGlobal(bytes);
        var page = Environment.SystemPageSize;
        for (var offset = 0; offset < bytes; offset += page)
        {
            Marshal.WriteByte(block, offset, 1);
        }

        return block;
    }

    /// <summary>Within 25 % of the independent readings taken around it (other threads allocate and free meanwhile).</summary>
    private static void AssertNear(double value, long independentBefore, long independentAfter) =>
        Assert.InRange(value, Math.Min(independentBefore, independentAfter) * 0.75, Math.Max(independentBefore, independentAfter) * 1.25);

    private static void AssertBetween(double value, long independentBefore, long independentAfter, long slack = 0) =>
        Assert.InRange(value, Math.Min(independentBefore, independentAfter) - slack, Math.Max(independentBefore, independentAfter) + slack);

    private static async Task<double[]> ReadAsync(ProcessProbe probe)
    {
        var writer = new SignalWriter(probe.Signals);
        await probe.ProbeAsync(writer, TestContext.Current.CancellationToken);
        var values = new double[probe.Signals.Count];
        writer.CopyTo(values);
        return values;
    }

    private static double[] Read(ProcessProbe probe)
    {
        var writer = new SignalWriter(probe.Signals);
        var pending = probe.ProbeAsync(writer, TestContext.Current.CancellationToken);
        Assert.True(pending.IsCompletedSuccessfully, "the process probe completes synchronously");
        var values = new double[probe.Signals.Count];
        writer.CopyTo(values);
        return values;
    }
}
