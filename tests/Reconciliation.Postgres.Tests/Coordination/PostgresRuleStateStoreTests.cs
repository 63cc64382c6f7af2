using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>Each replica's saved rule state on a real server.</summary>
public sealed class PostgresRuleStateStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_saved_state_loads_back_per_replica_is_replaced_by_the_next_save_and_an_empty_save_removes_it()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresRuleStateStoreTests));
        Assert.Same(RuleStateSnapshot.Empty, await store.State.LoadAsync("replica-a", Ct));

        var opened = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var state = new RuleStateSnapshot(
        [
            new RuleState("pool-saturation", "main-db")
            {
                OpenedAt = opened, State = ViolationState.Open, Attempts = 2, HealerIndex = 1, Healer = "app.restart", HealerAttempts = 1,
                ConsecutiveFailures = 1, NextAttemptAt = opened.AddMinutes(5),
            },
            new RuleState("slow", "api") { Pending = TimeSpan.FromSeconds(20) },
        ], opened.AddHours(1));

        await store.State.SaveAsync("replica-a", state, Ct);
        await store.State.SaveAsync("replica-b", new RuleStateSnapshot([new RuleState("slow", "api")], null), Ct);
        Assert.Equal(state, await store.State.LoadAsync("replica-a", Ct));

        var later = new RuleStateSnapshot([state.Rules[0] with { Attempts = 3 }], null);
        await store.State.SaveAsync("replica-a", later, Ct);
        var other = CoordinationTestStore.Over(store.ConnectionString); // another process after a restart
        await using (other)
        {
            Assert.Equal(later, await other.State.LoadAsync("replica-a", Ct));
        }

        await store.State.SaveAsync("replica-a", RuleStateSnapshot.Empty, Ct);
        Assert.Same(RuleStateSnapshot.Empty, await store.State.LoadAsync("replica-a", Ct));
        Assert.Equal(["replica-b"], await store.ScalarAsync<string[]>("SELECT array_agg(replica) FROM reconciliation.rule_state"));
    }
}
