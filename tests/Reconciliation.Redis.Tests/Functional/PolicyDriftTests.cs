using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>The declared maxmemory-policy is changed from outside; the reconciler puts it back and proves it.</summary>
public sealed class PolicyDriftTests
{
    [Fact]
    public async Task A_policy_changed_from_outside_is_restored_within_one_interval_after_For_and_the_heal_is_counted()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryPolicy = "allkeys-lru", MaxMemoryBytes = 64L * 1024 * 1024 });
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var outside = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));
        var server = outside.GetServers()[0];
        var @for = TimeSpan.FromSeconds(20);
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.OwnsMaxMemoryPolicy = true; })
            .AddRule("eviction-policy", r =>
            {
                r.Signal = RedisSignalNames.PolicyDrift;
                r.Above = 0.5;
                r.For = @for;
                r.Heal.Add(RedisHealerNames.SetPolicy);
            }));
        using var heals = new MetricCollector<long>(harness.Services.GetRequiredService<IMeterFactory>(), "Reconciliation", "reconciliation.heals");

        var first = await harness.TickAsync();
        Assert.Equal(0, first.ValueOf(RedisSignalNames.PolicyDrift, "redis"));

        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        var driftSeen = await harness.NextTickAsync();
        Assert.Equal(1, driftSeen.ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        Assert.Empty(driftSeen.Violations);

        // Before For has passed nothing is touched.
        var beforeFor = await harness.NextTickAsync();
        Assert.Empty(beforeFor.Heals);
        Assert.Equal("noeviction", await PolicyAsync(server));

        // For has passed: the violation opens and the heal runs in the same tick.
        var healed = await harness.NextTickAsync();
        Assert.Equal(@for, healed.Timestamp - driftSeen.Timestamp);
        var heal = Assert.Single(healed.Heals);
        Assert.Equal(RedisHealerNames.SetPolicy, heal.Healer);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Equal("allkeys-lru", await PolicyAsync(server));

        // One interval later the probe reads it back and the violation closes.
        var closed = await harness.NextTickAsync();
        Assert.Equal(0, closed.ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        Assert.Equal(ViolationState.Closed, Assert.Single(closed.Violations).State);
        Assert.True(closed.IsHealthy);
        Assert.Equal(1, heals.GetMeasurementSnapshot().Where(m => m.MatchesTags(
            new KeyValuePair<string, object?>("healer", RedisHealerNames.SetPolicy),
            new KeyValuePair<string, object?>("outcome", "healed"))).Sum(m => m.Value));
    }

    [Fact]
    public async Task A_declared_maxmemory_is_part_of_the_contract_and_restored_too()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryPolicy = "allkeys-lru", MaxMemoryBytes = 64L * 1024 * 1024 });
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var outside = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));
        var server = outside.GetServers()[0];
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.MaxMemory = 64L * 1024 * 1024; o.OwnsMaxMemoryPolicy = true; })
            .AddRule("memory-limit", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); }));

        Assert.Equal(0, (await harness.TickAsync()).ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        await server.ConfigSetAsync("maxmemory", "0");

        var healed = await harness.NextTickAsync();
        Assert.Equal(1, healed.ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        Assert.Equal(HealOutcomeKind.Healed, Assert.Single(healed.Heals).Outcome.Kind);
        Assert.Equal("67108864", (await server.ConfigGetAsync("maxmemory")).Single().Value);
        Assert.Equal(0, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.PolicyDrift, "redis"));
    }

    [Fact]
    public async Task Without_a_declared_policy_there_is_no_drift_reading()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app));

        var report = await harness.TickAsync();

        Assert.Null(report.ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        Assert.NotNull(report.ValueOf(RedisSignalNames.Latency, "redis"));
    }

    private static async Task<string> PolicyAsync(IServer server) =>
        (await server.ConfigGetAsync("maxmemory-policy")).Single().Value;
}
