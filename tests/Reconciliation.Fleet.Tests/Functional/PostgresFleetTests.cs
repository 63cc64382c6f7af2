using Npgsql;
using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// Three replicas (separate OS processes) watch one PostgreSQL with PostgreSQL coordination. A leaky app leaves
/// transactions open: the episode is healed by exactly one terminate across the fleet, counted in the journal table and
/// confirmed on the server.
/// </summary>
public sealed class PostgresFleetTests
{
    private const string App = "fleet-app";
    private const string Rule = "idle-tx";
    private const string Terminate = "postgres.terminate-idle-in-transaction";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_replicas_terminate_a_leaked_idle_transaction_episode_exactly_once()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(PostgresFleetTests));
        var appConnection = new NpgsqlConnectionStringBuilder(database) { ApplicationName = App }.ConnectionString;
        var coordination = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "fleet-coordination" }.ConnectionString;
        await using var fleet = new ReplicaFleet($$"""
            {
              "Reconciliation": {
                "AllowDestructive": [ "{{Terminate}}" ],
                "Rules": {
                  "{{Rule}}": { "Signal": "postgres.idle_in_transaction.max_age", "Resource": "main-db", "Above": 1, "Heal": [ "{{Terminate}}" ] }
                },
                "Healers": { "{{Terminate}}": { "Cooldown": "00:01:00" } }
              },
              "Postgres": { "main-db": { "TerminateIdleInTransactionAfter": "00:00:01" } }
            }
            """, "--coordination", "postgres", "--app-postgres", "FLEET_APP_POSTGRES", "--lease-ttl", "3");
        fleet.SetEnvironment("FLEET_APP_POSTGRES", appConnection, pg.Password);
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", coordination, pg.Password);
        var replicas = await fleet.StartAsync("r1", "r2", "r3");

        // The leak: two sessions of the app (its application_name, its role) BEGIN and sit idle.
        await using var leaky = NpgsqlDataSource.Create(appConnection);
        var leaked = new List<NpgsqlConnection>();
        for (var i = 0; i < 2; i++)
        {
            var connection = await leaky.OpenConnectionAsync(Ct);
            var transaction = await connection.BeginTransactionAsync(Ct);
            await using var begin = new NpgsqlCommand("SELECT 1", connection, transaction);
            await begin.ExecuteScalarAsync(Ct); // Npgsql sends BEGIN with the first command
            leaked.Add(connection);
        }

        // The episode ends when the server has no session of the app left and every replica reports the violation closed.
        await Eventually.UntilAsync(async () => await Journal.ScalarAsync(database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", App) == 0,
            "the leaked sessions are gone from the server", TimeSpan.FromSeconds(45));
        var healedAt = TimeProvider.System.GetUtcNow();
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("tick", l => l.At > healedAt && l.Violations().All(v => v.Rule != Rule || v.State == "Closed"),
                "a tick after the heal with no open idle-tx violation");
        }

        var rows = await Journal.RowsAsync(database);
        var attempts = rows.Where(r => r.Healer == Terminate && r.IsAttempt).ToList();
        var attempt = Assert.Single(attempts);
        Assert.Equal("Healed", attempt.Outcome);
        Assert.NotNull(attempt.LeaseToken);
        Assert.Contains(attempt.Replica, new[] { "r1", "r2", "r3" });

        // Each replica's own account agrees: one Healed terminate written by one process, none by the others.
        var written = fleet.Lines("journal").Where(x => x.Line.String("healer") == Terminate && x.Line.Bool("attempt") == true
            && x.Line.String("outcome") == "Healed" && x.Line.String("result") == "ok").ToList();
        var (holder, _) = Assert.Single(written);
        Assert.Equal(attempt.Replica, holder.Replica);
        foreach (var other in replicas.Where(r => r.Replica != holder.Replica))
        {
            var did = other.Lines.Where(l => (l.Is("event") && l.String("healer") == Terminate) || (l.Is("journal") && l.String("healer") == Terminate))
                .Select(l => $"{l.Type} {l.String("kind") ?? l.String("outcome")}: {l.String("reason")}").ToList();
            TestContext.Current.TestOutputHelper?.WriteLine($"{other.Replica}: {(did.Count == 0 ? "saw the violation close, never started a heal" : string.Join(" | ", did))}");
        }

        // The server agrees: the leaked connections were terminated.
        foreach (var connection in leaked)
        {
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync(Ct));
            Assert.Equal(PostgresErrorCodes.AdminShutdown, error.SqlState);
            await connection.DisposeAsync();
        }

        Assert.All(replicas, r => Assert.False(r.HasExited));
        fleet.AssertNoSecretPrinted();
    }
}
