using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// Operator controls across a fleet of separate OS processes sharing PostgreSQL coordination: the replicas propose a
/// destructive heal once, wait for an operator (this test, through its own <see cref="IReconciliationControl"/> on the
/// same database, as an admin tool or another replica's endpoint would), and after the approval exactly one replica acts.
/// </summary>
public sealed class ControlFleetTests
{
    private const string App = "fleet-app";
    private const string Rule = "idle-tx";
    private const string Terminate = "postgres.terminate-idle-in-transaction";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_replicas_propose_once_wait_for_approval_and_then_heal_exactly_once()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(ControlFleetTests));
        var appConnection = new NpgsqlConnectionStringBuilder(database) { ApplicationName = App }.ConnectionString;
        var coordination = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "fleet-coordination" }.ConnectionString;
        await using var fleet = new ReplicaFleet($$"""
            {
              "Reconciliation": {
                "AllowDestructive": [ "{{Terminate}}" ],
                "Rules": {
                  "{{Rule}}": {
                    "Signal": "postgres.idle_in_transaction.max_age", "Resource": "main-db", "Above": 1, "Heal": [ "{{Terminate}}" ],
                    "Approval": "Propose"
                  }
                },
                "Healers": { "{{Terminate}}": { "Cooldown": "00:01:00" } }
              },
              "Postgres": { "main-db": { "TerminateIdleInTransactionAfter": "00:00:01" } }
            }
            """, "--coordination", "postgres", "--app-postgres", "FLEET_APP_POSTGRES", "--lease-ttl", "3");
        fleet.SetEnvironment("FLEET_APP_POSTGRES", appConnection, pg.Password);
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", coordination, pg.Password);
        var replicas = await fleet.StartAsync("r1", "r2", "r3");

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.ReplicaId = "operator").UsePostgresCoordination(coordination);
        await using var operatorTool = services.BuildServiceProvider();
        var control = operatorTool.GetRequiredService<IReconciliationControl>();

        await using var leaky = NpgsqlDataSource.Create(appConnection);
        var connection = await leaky.OpenConnectionAsync(Ct);
        var transaction = await connection.BeginTransactionAsync(Ct);
        await using (var begin = new NpgsqlCommand("SELECT 1", connection, transaction))
        {
            await begin.ExecuteScalarAsync(Ct);
        }

        // Every replica sees the violation and holds it for the one proposal the fleet made.
        HealProposal? proposed = null;
        await Eventually.UntilAsync(async () =>
        {
            await control.RefreshAsync(Ct);
            proposed = control.Proposals.SingleOrDefault();
            return proposed is not null;
        }, "the fleet proposes the terminate", TimeSpan.FromSeconds(45));
        var proposal = proposed!;
        Assert.Equal((Rule, "main-db", Terminate), (proposal.Rule, proposal.Resource, proposal.Healer));
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("tick", l => l.Violations().Any(v => v.Rule == Rule && v.HeldBack?.Contains(proposal.Id, StringComparison.Ordinal) == true),
                "a tick holding the violation for the proposal");
        }

        await control.RefreshAsync(Ct);
        Assert.Single(control.Proposals); // still one: no replica proposed again
        Assert.Equal(1L, await Journal.ScalarAsync(database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", App)); // nothing acted

        Assert.True(await control.ApproveAsync(proposal.Id, "oncall-alice", "approved from the runbook", Ct));

        await Eventually.UntilAsync(async () => await Journal.ScalarAsync(database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", App) == 0,
            "the approved terminate ran", TimeSpan.FromSeconds(45));
        await using var probe = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(PostgresErrorCodes.AdminShutdown, (await Assert.ThrowsAsync<PostgresException>(() => probe.ExecuteScalarAsync(Ct))).SqlState);
        await connection.DisposeAsync();

        // The attempt is journaled when the healer returns, a moment after the server dropped the session.
        await Eventually.UntilAsync(async () => (await Journal.RowsAsync(database)).Any(r => r.Healer == Terminate && r.IsAttempt),
            "the terminate is journaled", TimeSpan.FromSeconds(30));
        var rows = await Journal.RowsAsync(database);
        Assert.Single(rows, r => r.Healer == Terminate && r.IsAttempt);
        Assert.Single(rows, r => r.Outcome == "Proposed");
        Assert.Equal("operator", Assert.Single(rows, r => r.Outcome == "Approved").Replica);
        Assert.Equal(1L, await Journal.ScalarAsync(database,
            "SELECT count(*) FROM reconciliation.heal_journal WHERE outcome = 'Approved' AND reason LIKE '%approved by oncall-alice: approved from the runbook'"));
        Assert.All(replicas, r => Assert.False(r.HasExited));
        fleet.AssertNoSecretPrinted();
    }
}
