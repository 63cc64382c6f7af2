using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Quantiles;
using Xunit;

namespace Reconciliation.Http.Tests.Quantiles;

public sealed class CoarseClockTests
{
    private static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void Now_is_the_providers_timestamp_refreshed_once_per_resolution()
    {
        var time = new FakeTimeProvider();
        using var clock = new CoarseClock(time, Resolution);
        var start = time.GetTimestamp();
        Assert.Equal(start, clock.Now);

        // Between refreshes the reading stands still (it lags the clock, never leads it).
        time.Advance(Resolution / 2);
        Assert.Equal(start, clock.Now);
        Assert.True(clock.Now < time.GetTimestamp());

        // The provider's timer refreshes it.
        time.Advance(Resolution / 2);
        Assert.Equal(time.GetTimestamp(), clock.Now);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(time.GetTimestamp(), clock.Now);
    }

    [Fact]
    public void A_disposed_clock_stops_refreshing()
    {
        var time = new FakeTimeProvider();
        var clock = new CoarseClock(time, Resolution);
        var start = clock.Now;
        clock.Dispose();
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(start, clock.Now);
    }

    [Theory]
    [InlineData(60_000, 6, 100)] // default window: a tenth of 10 s is 1 s, capped at 100 ms
    [InlineData(10_000, 10, 100)]
    [InlineData(1_000, 64, 1.5625)] // a tenth of a 15.625 ms slice
    [InlineData(10, 64, 1)] // never finer than 1 ms
    public void Resolution_is_a_tenth_of_a_slice_between_1_ms_and_100_ms(int windowMs, int slices, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), CoarseClock.ResolutionFor(TimeSpan.FromMilliseconds(windowMs), slices));

    [Fact]
    public void A_window_fed_from_the_coarse_clock_places_samples_in_the_slices_of_their_time()
    {
        // Starts on a slice boundary (10 s), so the slices are [0 s, 10 s), [10 s, 20 s), ...
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var clock = new CoarseClock(time, CoarseClock.ResolutionFor(TimeSpan.FromMinutes(1), 6));
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, time);
        Assert.Equal(Resolution, clock.Resolution);

        // One sample every 50 ms for 50 s; the clock stamps sample i with 100 ms × ⌊i / 2⌋.
        for (var i = 0; i < 1_000; i++)
        {
            window.Record(0.01, clock.Now, failed: false);
            time.Advance(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(1_000, window.Count);

        // At 80 s the window holds [30 s, 80 s): the 400 samples stamped from 30 s on. A clock that stood still at the start
        // would leave none; one that ran ahead would keep more.
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(400, window.Count);
    }
}
