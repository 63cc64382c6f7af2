using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

public sealed class RedisRuleStateStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_saved_snapshot_loads_back_for_its_replica_only_and_a_later_save_replaces_it()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var store = new RedisRuleStateStore(connection, options);
        var snapshot = new RuleStateSnapshot(
        [
            new RuleState("pool-saturation", "main-db")
            {
                OpenedAt = T0, State = ViolationState.Open, Attempts = 2, HealerIndex = 1, Healer = "app.restart", HealerAttempts = 1,
                ConsecutiveFailures = 1, NextAttemptAt = T0.AddMinutes(2),
            },
            new RuleState("latency", "api") { Pending = TimeSpan.FromSeconds(20) },
        ], T0.AddHours(1));

        Assert.Equal(RuleStateSnapshot.Empty, await store.LoadAsync("replica-a", Ct));
        await store.SaveAsync("replica-a", snapshot, Ct);

        Assert.Equal(snapshot, await store.LoadAsync("replica-a", Ct));
        Assert.Equal(RuleStateSnapshot.Empty, await store.LoadAsync("replica-b", Ct));
        Assert.True(await connection.GetDatabase().KeyExistsAsync(options.KeyPrefix + "state:replica-a"));

        await store.SaveAsync("replica-a", RuleStateSnapshot.Empty, Ct);
        Assert.Equal(RuleStateSnapshot.Empty, await store.LoadAsync("replica-a", Ct));
    }
}
