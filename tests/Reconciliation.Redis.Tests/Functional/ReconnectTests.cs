using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

public sealed class ReconnectTests
{
    [Fact]
    public async Task A_dead_admin_connection_fails_the_probe_and_redis_reconnect_rebuilds_it()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app)
            .AddRule("redis-unreachable", r => { r.Signal = SignalNames.ProbeFailed; r.Above = 0.5; r.Heal.Add(RedisHealerNames.Reconnect); }));
        Assert.Equal(0, (await harness.TickAsync()).ValueOf(SignalNames.ProbeFailed, "redis"));

        // The admin connection dies (closed under us); StackExchange.Redis will not bring a closed multiplexer back.
        var resource = harness.Services.GetRequiredKeyedService<RedisResource>("redis");
        var dead = resource.Admin.Current!;
        await dead.CloseAsync();

        var failing = await harness.NextTickAsync();
        Assert.Equal(1, failing.ValueOf(SignalNames.ProbeFailed, "redis"));
        var heal = Assert.Single(failing.Heals);
        Assert.Equal(RedisHealerNames.Reconnect, heal.Healer);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.NotSame(dead, resource.Admin.Current);

        var recovered = await harness.NextTickAsync();
        Assert.Equal(0, recovered.ValueOf(SignalNames.ProbeFailed, "redis"));
        Assert.NotNull(recovered.ValueOf(RedisSignalNames.Latency, "redis"));
        Assert.Equal(ViolationState.Closed, Assert.Single(recovered.Violations).State);
    }

    [Fact]
    public async Task A_dead_application_connection_is_rebuilt_through_the_hosts_factory()
    {
        var redis = await RequireServer.RedisAsync();
        var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        ConnectionMultiplexer? rebuilt = null;
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.ConnectionFactory = async _ =>
            rebuilt = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)));
        await harness.TickAsync();
        await app.CloseAsync();
        await app.DisposeAsync();

        var outcome = await HealAsync(harness);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Contains("application", outcome.Reason, StringComparison.Ordinal);
        Assert.NotNull(rebuilt);
        Assert.Same(rebuilt, harness.Services.GetRequiredKeyedService<RedisResource>("redis").Application);
        Assert.True(rebuilt.IsConnected);
        await rebuilt.DisposeAsync();
    }

    [Fact]
    public async Task Connections_that_answer_are_left_alone()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app));
        await harness.TickAsync();
        var admin = harness.Services.GetRequiredKeyedService<RedisResource>("redis").Admin.Current;

        var outcome = await HealAsync(harness);

        Assert.Equal(HealOutcomeKind.Skipped, outcome.Kind);
        Assert.Same(admin, harness.Services.GetRequiredKeyedService<RedisResource>("redis").Admin.Current);
    }

    private static async Task<HealOutcome> HealAsync(ReconcilerHarness harness)
    {
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.Reconnect && h.AppliesTo("redis"));
        Assert.Equal(HealScope.Process, healer.Scope);
        var context = new HealContext("redis-unreachable", SignalNames.ProbeFailed, "redis", 1, 0.5, RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, false);
        return await healer.HealAsync(context, TestContext.Current.CancellationToken);
    }
}
