using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Quantiles;
using Xunit;

namespace Reconciliation.Http.Tests.Quantiles;

public sealed class SlidingQuantileWindowTests
{
    private static readonly TimeSpan Slice = TimeSpan.FromSeconds(10);

    [Theory]
    [MemberData(nameof(LatencyHistogramTests.Distributions), MemberType = typeof(LatencyHistogramTests))]
    public void Quantiles_over_several_slices_match_an_exact_sort(string distribution)
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var random = new Random(7);
        var samples = new List<double>();
        for (var slice = 0; slice < 6; slice++)
        {
            for (var i = 0; i < 5_000; i++)
            {
                var sample = LatencyHistogramTests.Sample(distribution, random);
                samples.Add(sample);
                window.Record(sample);
            }

            if (slice < 5)
            {
                time.Advance(Slice);
            }
        }

        samples.Sort();
        Assert.Equal(samples.Count, window.Count);
        foreach (var q in new[] { 0.5, 0.95, 0.99, 0.999 })
        {
            var exact = samples[(int)LatencyHistogram.RankOf(q, samples.Count) - 1];
            var error = Math.Abs(window.GetQuantile(q) - exact) / exact;
            Assert.True(error <= LatencyHistogram.RelativeError, $"{distribution} q={q}: error {error:P3}");
        }
    }

    [Fact]
    public void Old_samples_leave_the_window_slice_by_slice()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);

        for (var i = 0; i < 100; i++)
        {
            window.Record(0.200);
        }

        time.Advance(Slice);
        for (var i = 0; i < 100; i++)
        {
            window.Record(0.001);
        }

        Assert.Equal(200, window.Count);
        Assert.InRange(window.GetQuantile(0.99), 0.199, 0.201);

        // Four more slices: the slow slice is still the oldest of six.
        time.Advance(4 * Slice);
        Assert.Equal(200, window.Count);

        // One more: the slow slice has left; only the fast one remains.
        time.Advance(Slice);
        Assert.Equal(100, window.Count);
        Assert.InRange(window.GetQuantile(0.99), 0.000995, 0.001005);

        // And after a whole idle window, nothing.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, window.Count);
        Assert.Equal(0, window.Requests);
        Assert.True(double.IsNaN(window.GetQuantile(0.99)));
        Assert.True(double.IsNaN(window.FailureRatio));
    }

    [Fact]
    public void A_reused_slice_starts_empty()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromSeconds(30), 3, time);
        window.Record(0.5, failed: true);
        window.RecordFailure();

        // Exactly one window later the same slice is reused for the new time.
        time.Advance(TimeSpan.FromSeconds(30));
        window.Record(0.002);

        Assert.Equal(1, window.Count);
        Assert.Equal(1, window.Requests);
        Assert.Equal(0, window.Failures);
        Assert.InRange(window.GetQuantile(1), 0.00199, 0.00201);
    }

    [Fact]
    public void Failures_with_and_without_latency_make_the_ratio()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        for (var i = 0; i < 6; i++)
        {
            window.Record(0.01);
        }

        window.Record(0.02, failed: true);
        window.RecordFailure();

        Assert.Equal(7, window.Count);
        Assert.Equal(8, window.Requests);
        Assert.Equal(2, window.Failures);
        Assert.Equal(0.25, window.FailureRatio);
    }

    [Fact]
    public void A_timestamped_record_counts_in_the_slice_of_its_timestamp_not_of_now()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var start = time.GetTimestamp();
        time.Advance(5 * Slice);
        var now = time.GetTimestamp();

        // Recorded now, but the slow sample ended five slices ago (the oldest live slice), the fast one now.
        window.Record(0.200, start, failed: true);
        window.Record(0.001, now, failed: false);
        window.RecordFailure(start);
        Assert.Equal(2, window.Count);
        Assert.Equal(3, window.Requests);
        Assert.Equal(2, window.Failures);

        // One slice on, the samples stamped with the start have left; the one stamped now stays.
        time.Advance(Slice);
        Assert.Equal(1, window.Count);
        Assert.Equal(1, window.Requests);
        Assert.Equal(0, window.Failures);
        Assert.InRange(window.GetQuantile(1), 0.000995, 0.001005);

        // A timestamp older than the window is counted in its own (dead) slice and never read.
        window.Record(0.5, start, failed: false);
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public void The_last_tick_of_a_slice_and_the_first_of_the_next_land_in_different_slices()
    {
        // 1 tick = 100 ns on FakeTimeProvider; a 60 s window of 6 slices has 10 s (10^8 ticks) per slice.
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var sliceTicks = (long)(Slice.TotalSeconds * time.TimestampFrequency);
        var boundary = ((time.GetTimestamp() / sliceTicks) + 3) * sliceTicks;

        // Alternate across the boundary, so the fast path (the latest slice) is both right and wrong for the next record.
        for (var i = 0; i < 10; i++)
        {
            window.Record(0.100, boundary - 1, failed: false);
            window.Record(0.001, boundary, failed: false);
        }

        // Read from the boundary's slice: the earlier slice is live too.
        time.Advance(TimeSpan.FromTicks((boundary - time.GetTimestamp()) * TimeSpan.TicksPerSecond / time.TimestampFrequency));
        Assert.Equal(boundary, time.GetTimestamp());
        Assert.Equal(20, window.Count);

        // Five slices on, the slice ending at boundary − 1 is the seventh back and has left; the boundary's is the sixth.
        time.Advance(5 * Slice);
        Assert.Equal(10, window.Count);
        Assert.InRange(window.GetQuantile(1), 0.000995, 0.001005);
    }

    [Fact]
    public void Records_with_and_without_a_timestamp_agree()
    {
        var time = new FakeTimeProvider();
        var byClock = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var stamped = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var random = new Random(11);
        for (var slice = 0; slice < 9; slice++)
        {
            for (var i = 0; i < 1_000; i++)
            {
                var sample = LatencyHistogramTests.Sample("lognormal", random);
                var failed = i % 10 == 0;
                byClock.Record(sample, failed);
                stamped.Record(sample, time.GetTimestamp(), failed);
            }

            byClock.RecordFailure();
            stamped.RecordFailure(time.GetTimestamp());
            time.Advance(Slice);
        }

        Assert.Equal(5_000, stamped.Count);
        Assert.Equal(byClock.Count, stamped.Count);
        Assert.Equal(byClock.Requests, stamped.Requests);
        Assert.Equal(byClock.Failures, stamped.Failures);
        foreach (var q in new[] { 0.5, 0.99, 0.999 })
        {
            Assert.Equal(byClock.GetQuantile(q), stamped.GetQuantile(q));
        }
    }

    [Fact]
    public void Record_and_quantile_allocate_nothing_even_when_a_slice_rotates()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        window.Record(0.01);
        window.RecordFailure();
        _ = window.GetQuantile(0.99);
        _ = window.FailureRatio; // first use caches the static lambdas

        var before = GC.GetAllocatedBytesForCurrentThread();
        var stamp = time.GetTimestamp();
        for (var i = 0; i < 10_000; i++)
        {
            window.Record(i * 1e-5, failed: (i & 7) == 0);
            window.Record(i * 1e-5, stamp, failed: (i & 7) == 0);
        }

        // A timestamp in the next slice rotates it without any clock.
        window.Record(0.5, stamp + (long)(Slice.TotalSeconds * time.TimestampFrequency), failed: false);
        window.RecordFailure(stamp);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Moving the fake clock allocates in FakeTimeProvider itself; measure around it, not across it.
        time.Advance(Slice);
        before = GC.GetAllocatedBytesForCurrentThread();
        window.Record(0.5);
        window.RecordFailure();
        var p99 = window.GetQuantile(0.99);
        var ratio = window.FailureRatio;
        allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(p99 > 0 && ratio > 0);
    }

    [Fact]
    public async Task Concurrent_records_within_a_slice_are_all_counted()
    {
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, new FakeTimeProvider());
        const int PerThread = 100_000;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                window.Record(0.004, failed: i % 4 == 0);
            }
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(4 * PerThread, window.Count);
        Assert.Equal(0.25, window.FailureRatio);
    }

    [Fact]
    public async Task Concurrent_timestamped_records_across_slice_changes_are_all_counted()
    {
        // Every thread walks through the window's six slices in order, so the latest slice changes under the others' feet
        // (claims and fast-path misses race); no slice is ever reused, so no record may be lost.
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        var sliceTicks = (long)(Slice.TotalSeconds * time.TimestampFrequency);
        var start = time.GetTimestamp() / sliceTicks * sliceTicks;
        const int PerThread = 60_000;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                // Thread t runs t slices behind the others' schedule at first, wrapping to stay inside the six.
                var slice = ((i * 6 / PerThread) + t) % 6;
                window.Record(0.004, start + (slice * sliceTicks) + (i % 1_000), failed: i % 4 == 0);
            }
        }, TestContext.Current.CancellationToken)));

        time.Advance(5 * Slice);
        Assert.Equal(4 * PerThread, window.Count);
        Assert.Equal(4 * PerThread, window.Requests);
        Assert.Equal(0.25, window.FailureRatio);
    }

    [Fact]
    public void Memory_is_fixed_and_reported()
    {
        _ = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, TimeProvider.System);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, TimeProvider.System);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // What the constructor allocates is what the window holds, give or take the window object and its slice array.
        Assert.InRange(allocated, window.MemoryBytes - 128, window.MemoryBytes + 128);
        Assert.Equal(SlidingQuantileWindow.BytesFor(6), window.MemoryBytes);
        Assert.InRange(window.MemoryBytes, 6 * 16 * 1024, 6 * 17 * 1024);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlidingQuantileWindow(TimeSpan.Zero, 6, TimeProvider.System));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 65, TimeProvider.System));
    }
}
