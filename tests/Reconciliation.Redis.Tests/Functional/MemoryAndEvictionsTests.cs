using Reconciliation.TestServers;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

public sealed class MemoryAndEvictionsTests
{
    [Fact]
    public async Task Filling_memory_past_a_small_maxmemory_raises_memory_usage_and_the_evictions_rate()
    {
        const long maxMemory = 8L * 1024 * 1024;
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryBytes = maxMemory, MaxMemoryPolicy = "allkeys-lru" });
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = app.GetDatabase();
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app));

        var baseline = await harness.TickAsync();
        var quiet = await harness.NextTickAsync();
        var usageBefore = quiet.ValueOf(RedisSignalNames.MemoryUsage, "redis")!.Value;
        Assert.Null(baseline.ValueOf(RedisSignalNames.EvictionsRate, "redis"));
        Assert.Equal(0, quiet.ValueOf(RedisSignalNames.EvictionsRate, "redis"));
        Assert.InRange(usageBefore, 0.01, 0.5);

        // 16 MB of values into an 8 MB server: allkeys-lru must evict.
        var value = new string('x', 4096);
        for (var chunk = 0; chunk < 8; chunk++)
        {
            await Task.WhenAll(Enumerable.Range(chunk * 500, 500).Select(i => db.StringSetAsync($"fill:{i}", value)));
        }

        var filled = await harness.NextTickAsync();
        var usageAfter = filled.ValueOf(RedisSignalNames.MemoryUsage, "redis")!.Value;
        var evictionsRate = filled.ValueOf(RedisSignalNames.EvictionsRate, "redis")!.Value;
        Assert.True(usageAfter > usageBefore, $"usage {usageAfter} should rise above {usageBefore}");
        Assert.InRange(usageAfter, 0.8, 1.5);
        Assert.True(evictionsRate > 0, $"evictions rate {evictionsRate} should be positive");

        // The rate is per second of the fake clock: the keys evicted during the fill / the 10 s between the ticks.
        // (Read after the tick: any command of a server over its limit may evict a few more, so "at most".)
        var info = RedisInfo.Parse((await (await harness.Services.GetRequiredKeyedService<RedisResource>("redis").Admin.GetAsync(default)).GetServers()[0].InfoRawAsync())!);
        Assert.InRange(evictionsRate * ReconcilerHarness.Interval.TotalSeconds, 1, info.EvictedKeys);

        // No more writes: the rate falls back, never below 0.
        Assert.InRange((await harness.NextTickAsync()).ValueOf(RedisSignalNames.EvictionsRate, "redis")!.Value, 0, evictionsRate / 10);
    }
}
