using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>
/// Real GETs against a dedicated server (keyspace counters are server-wide, so no other test may share them).
/// The window is time-based on the fake clock: the test advances it between ticks.
/// </summary>
public sealed class HitRatioWindowTests
{
    [Fact]
    public async Task The_hit_ratio_follows_the_window_not_the_lifetime_and_a_quiet_window_has_no_reading()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = app.GetDatabase();
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.HitRatioWindow = TimeSpan.FromSeconds(30)));

        var t0 = await harness.TickAsync();
        Assert.Null(t0.ValueOf(RedisSignalNames.HitRatio, "redis")); // a first sample is only a baseline

        // Miss-heavy: 100 GETs of keys that do not exist.
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => db.StringGetAsync($"absent:{i}")));
        Assert.Equal(0.0, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.HitRatio, "redis"));

        // Hit-heavy: 300 GETs of a key that exists.
        await db.StringSetAsync("present", "value");
        await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => db.StringGetAsync("present")));
        Assert.Equal(0.75, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.HitRatio, "redis")); // t0..t20: 300 hits, 100 misses
        Assert.Equal(0.75, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.HitRatio, "redis")); // t0 still starts the window

        // t40: the window starts at t10, after the misses: only hits remain, although the lifetime ratio is still low.
        var windowed = await harness.NextTickAsync();
        Assert.Equal(1.0, windowed.ValueOf(RedisSignalNames.HitRatio, "redis"));
        var lifetime = RedisInfo.Parse((await (await harness.Services.GetRequiredKeyedService<RedisResource>("redis").Admin.GetAsync(default)).GetServers()[0].InfoRawAsync())!);
        Assert.InRange((double)lifetime.KeyspaceHits / (lifetime.KeyspaceHits + lifetime.KeyspaceMisses), 0.5, 0.8);

        // t50: nothing happened in the window: no reading, not 100 %.
        Assert.Null((await harness.NextTickAsync()).ValueOf(RedisSignalNames.HitRatio, "redis"));
    }
}
