using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>The operator controls' compare-and-swap document on a real server, and a silence shared by two engines through it.</summary>
public sealed class PostgresControlStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Writes_are_compare_and_swap_so_of_two_writers_of_one_version_only_the_first_wins()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresControlStoreTests) + "-cas");
        var controls = new PostgresControlStore(store.Store);
        Assert.Null(await controls.ReadAsync(Ct));

        Assert.True(await controls.TryWriteAsync("""{"silences":[]}""", 0, Ct));
        Assert.False(await controls.TryWriteAsync("""{"silences":[1]}""", 0, Ct)); // a second "first write" lost the race
        Assert.True(await controls.TryWriteAsync("""{"pause":null}""", 1, Ct));
        Assert.False(await controls.TryWriteAsync("""{"stale":true}""", 1, Ct));

        var other = CoordinationTestStore.Over(store.ConnectionString); // another replica
        await using (other)
        {
            var read = await new PostgresControlStore(other.Store).ReadAsync(Ct);
            Assert.Equal(2, read!.Version);
            Assert.Equal("""{"pause": null}""", read.Json);
        }
    }

    [Fact]
    public async Task A_store_created_before_the_operator_controls_gains_their_table_at_its_next_start()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresControlStoreTests) + "-upgrade");
        await store.Store.MigrateAsync(Ct);
        await store.ScalarAsync<int>("DROP TABLE reconciliation.control_state; SELECT 1"); // the layout before the controls

        var upgraded = CoordinationTestStore.Over(store.ConnectionString);
        await using (upgraded)
        {
            Assert.True(await new PostgresControlStore(upgraded.Store).TryWriteAsync("{}", 0, Ct));
        }

        Assert.Equal(1L, await store.ScalarAsync<long>("SELECT version FROM reconciliation.control_state"));
    }

    [Fact]
    public async Task A_silence_added_through_one_replica_is_seen_by_another_sharing_the_database()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresControlStoreTests) + "-share");
        await using var firstReplica = Replica(store.ConnectionString, "replica-1");
        await using var secondReplica = Replica(store.ConnectionString, "replica-2");
        var first = firstReplica.GetRequiredService<IReconciliationControl>();
        var second = secondReplica.GetRequiredService<IReconciliationControl>();

        var silence = await first.AddSilenceAsync(new SilenceRequest { Rule = "pool-*", Duration = TimeSpan.FromMinutes(10), Owner = "ops", Reason = "failover" }, Ct);
        await second.PauseAsync("ops", "incident", cancellationToken: Ct); // written on top of the first change, not over it
        await first.RefreshAsync(Ct);

        Assert.Equal(silence, Assert.Single(second.Silences));
        Assert.Equal("incident", first.Pause!.Reason);
        Assert.True(await second.ExpireSilenceAsync(silence.Id, "ops", Ct));
        await first.RefreshAsync(Ct);
        Assert.Empty(first.Silences);
    }

    private static ServiceProvider Replica(string connectionString, string name)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.ReplicaId = name).UsePostgresCoordination(connectionString);
        return services.BuildServiceProvider();
    }
}
