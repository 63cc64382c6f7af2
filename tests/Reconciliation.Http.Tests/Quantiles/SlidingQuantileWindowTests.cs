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
    public void Record_and_quantile_allocate_nothing_even_when_a_slice_rotates()
    {
        var time = new FakeTimeProvider();
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        window.Record(0.01);
        window.RecordFailure();
        _ = window.GetQuantile(0.99);
        _ = window.FailureRatio; // first use caches the static lambdas

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            window.Record(i * 1e-5, failed: (i & 7) == 0);
        }

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
