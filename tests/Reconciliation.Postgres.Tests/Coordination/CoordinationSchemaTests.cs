using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>The coordination tables: created once under an advisory lock, and never adopted from someone else's table.</summary>
public sealed class CoordinationSchemaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_coordinators_migrating_at_once_create_the_tables_once_and_all_use_them()
    {
        var server = await RequireServer.PostgresAsync();
        var connectionString = await server.CreateDatabaseAsync(nameof(Three_coordinators_migrating_at_once_create_the_tables_once_and_all_use_them));

        // Several rounds, each on a fresh schema, so the three really race for the creation (without the lock one of
        // them would fail with 'relation already exists').
        for (var round = 0; round < 5; round++)
        {
            var schema = "coord_race_" + round;
            var stores = Enumerable.Range(0, 3).Select(_ => CoordinationTestStore.Over(connectionString, o => o.Schema = schema)).ToArray();
            try
            {
                using var start = new Barrier(3);
                await Task.WhenAll(stores.Select(s => Task.Run(async () =>
                {
                    start.SignalAndWait(Ct);
                    await s.Store.MigrateAsync(Ct);
                }, Ct)));

                var marked = await stores[0].ScalarAsync<long>("""
                    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = @schema AND obj_description(c.oid, 'pg_class') = 'reconciliation-coordination:1'
                    """, ("schema", schema));
                Assert.Equal(4, marked); // journal, lease, rule state, operator controls

                // One coordinator's write is every coordinator's read.
                var record = new HealRecord("h", "db", "r", TimeProvider.System.GetUtcNow(), HealOutcomeKind.Healed, null) { Id = Guid.NewGuid(), Replica = "a" };
                await stores[0].Journal.RecordAsync(record, Ct);
                Assert.Equal(1, await stores[2].Journal.CountAttemptsAsync("h", "db", null, record.StartedAt.AddMinutes(-1), Ct));
            }
            finally
            {
                foreach (var store in stores)
                {
                    await store.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task An_unrelated_table_of_the_same_name_is_refused_with_a_clear_error_and_nothing_is_changed()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(An_unrelated_table_of_the_same_name_is_refused_with_a_clear_error_and_nothing_is_changed));
        await using (var connection = new NpgsqlConnection(store.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var command = new NpgsqlCommand("CREATE SCHEMA reconciliation; CREATE TABLE reconciliation.heal_journal (id int PRIMARY KEY, note text)", connection);
            await command.ExecuteNonQueryAsync(Ct);
        }

        var direct = await Assert.ThrowsAsync<InvalidOperationException>(() => store.Store.MigrateAsync(Ct));
        Assert.Contains("reconciliation.heal_journal is not a coordination table", direct.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", direct.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Coordination:Postgres:Schema", direct.Message, StringComparison.Ordinal);

        // Through the public API the same reason comes out, naming what was being done.
        var record = new HealRecord("h", "db", "r", TimeProvider.System.GetUtcNow(), HealOutcomeKind.Healed, null) { Id = Guid.NewGuid() };
        var wrapped = await Assert.ThrowsAsync<PostgresCoordinationException>(() => store.Journal.RecordAsync(record, Ct).AsTask());
        Assert.Contains("could not record a heal", wrapped.Message, StringComparison.Ordinal);
        Assert.Contains("is not a coordination table", wrapped.Message, StringComparison.Ordinal);

        Assert.Equal(0L, await store.ScalarAsync<long>("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'reconciliation' AND c.relname IN ('heal_lease', 'rule_state')"));
        Assert.Equal(2L, await store.ScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'reconciliation' AND table_name = 'heal_journal'"));
    }

    [Fact]
    public async Task A_role_given_only_an_existing_schema_creates_the_tables_in_it()
    {
        var server = await RequireServer.PostgresAsync();
        var admin = await server.CreateDatabaseAsync(nameof(A_role_given_only_an_existing_schema_creates_the_tables_in_it));
        var database = new NpgsqlConnectionStringBuilder(admin).Database!;
        var role = "coord_" + database.Replace("t_", string.Empty, StringComparison.Ordinal)[..Math.Min(20, database.Length - 2)] + "_" + Guid.NewGuid().ToString("N")[..6];
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(Ct);
            await using var command = new NpgsqlCommand($"""
                CREATE ROLE "{role}" LOGIN PASSWORD '{password}';
                REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC;
                CREATE SCHEMA fleet AUTHORIZATION "{role}";
                """, connection);
            await command.ExecuteNonQueryAsync(Ct);
        }

        var asRole = new NpgsqlConnectionStringBuilder(admin) { Username = role, Password = password }.ConnectionString;
        await using var store = CoordinationTestStore.Over(asRole, o => o.Schema = "fleet");
        await store.Store.MigrateAsync(Ct);
        await store.Journal.RecordAsync(new HealRecord("h", "db", "r", TimeProvider.System.GetUtcNow(), HealOutcomeKind.Healed, null) { Id = Guid.NewGuid() }, Ct);
        Assert.Equal(1, await store.Journal.CountAllAttemptsAsync(TimeProvider.System.GetUtcNow().AddHours(-1), Ct));
    }
}
