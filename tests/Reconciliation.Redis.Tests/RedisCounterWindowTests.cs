using Xunit;

namespace Reconciliation.Redis.Tests;

public sealed class RedisCounterWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RedisInfo Info(long hits, long misses, long evicted, string runId = "run-1") =>
        new() { RunId = runId, KeyspaceHits = hits, KeyspaceMisses = misses, EvictedKeys = evicted };

    [Fact]
    public void The_first_sample_is_a_baseline_without_readings()
    {
        var window = new RedisCounterWindow(TimeSpan.FromSeconds(30));

        var readings = window.Add(T0, Info(1_000, 9_000, 5), out var reset);

        Assert.Null(readings.HitRatio);
        Assert.Null(readings.EvictionsRate);
        Assert.Null(reset);
    }

    [Fact]
    public void Hit_ratio_uses_only_the_samples_inside_the_window_not_lifetime_totals()
    {
        var window = new RedisCounterWindow(TimeSpan.FromSeconds(30));

        // A week of misses before we started watching: lifetime ratio 0.1.
        window.Add(T0, Info(1_000, 9_000, 0), out _);
        Assert.Equal(0.0, window.Add(T0.AddSeconds(10), Info(1_000, 9_100, 0), out _).HitRatio);                 // 0 hits, 100 misses
        Assert.Equal(300.0 / 400, window.Add(T0.AddSeconds(20), Info(1_300, 9_100, 0), out _).HitRatio);         // since t0: 300 hits, 100 misses
        Assert.Equal(300.0 / 400, window.Add(T0.AddSeconds(30), Info(1_300, 9_100, 0), out _).HitRatio);         // t0 is still the window's start
        Assert.Equal(1.0, window.Add(T0.AddSeconds(40), Info(1_300, 9_100, 0), out _).HitRatio);                 // since t10: the misses left
        Assert.Null(window.Add(T0.AddSeconds(50), Info(1_300, 9_100, 0), out _).HitRatio);                       // since t20: no traffic
    }

    [Fact]
    public void A_window_shorter_than_the_tick_interval_still_reads_over_the_last_tick()
    {
        var window = new RedisCounterWindow(TimeSpan.FromSeconds(5));
        window.Add(T0, Info(0, 0, 0), out _);
        window.Add(T0.AddSeconds(10), Info(10, 10, 0), out _);

        Assert.Equal(0.9, window.Add(T0.AddSeconds(20), Info(100, 20, 0), out _).HitRatio); // t10..t20 only: 90 hits, 10 misses
    }

    [Fact]
    public void Evictions_rate_is_per_second_since_the_previous_sample()
    {
        var window = new RedisCounterWindow(TimeSpan.FromMinutes(5));
        window.Add(T0, Info(0, 0, 100), out _);

        var readings = window.Add(T0.AddSeconds(10), Info(0, 0, 150), out _);

        Assert.Equal(5.0, readings.EvictionsRate);
    }

    [Fact]
    public void Samples_closer_than_the_minimum_interval_give_no_rate_and_keep_the_baseline()
    {
        var window = new RedisCounterWindow(TimeSpan.FromMinutes(5));
        window.Add(T0, Info(0, 0, 100), out _);

        Assert.Null(window.Add(T0.AddMilliseconds(1), Info(0, 0, 150), out _).EvictionsRate);
        Assert.Equal(10.0, window.Add(T0.AddSeconds(10), Info(0, 0, 200), out _).EvictionsRate);
    }

    [Theory]
    [InlineData(500, 100, 10, "run-1")] // hits went down
    [InlineData(2_000, 50, 10, "run-1")] // misses went down
    [InlineData(2_000, 200, 1, "run-1")] // evictions went down
    [InlineData(2_000, 200, 10, "run-2")] // the server restarted with higher counters already
    public void A_counter_reset_gives_no_reading_never_a_negative_or_huge_rate_and_restarts_the_window(long hits, long misses, long evicted, string runId)
    {
        var window = new RedisCounterWindow(TimeSpan.FromMinutes(5));
        window.Add(T0, Info(1_000, 100, 5), out _);

        var atReset = window.Add(T0.AddSeconds(10), Info(hits, misses, evicted, runId), out var cause);
        var after = window.Add(T0.AddSeconds(20), Info(hits + 10, misses, evicted + 20, runId), out var noCause);

        Assert.NotNull(cause);
        Assert.Null(atReset.HitRatio);
        Assert.Null(atReset.EvictionsRate);
        Assert.Null(noCause);
        Assert.Equal(1.0, after.HitRatio);
        Assert.Equal(2.0, after.EvictionsRate);
    }

    [Fact]
    public void Missing_counters_give_no_reading()
    {
        var window = new RedisCounterWindow(TimeSpan.FromMinutes(5));
        window.Add(T0, Info(1, 1, 1), out _);

        var readings = window.Add(T0.AddSeconds(10), new RedisInfo { KeyspaceHits = -1, KeyspaceMisses = -1, EvictedKeys = -1 }, out _);

        Assert.Null(readings.HitRatio);
        Assert.Null(readings.EvictionsRate);
    }
}
