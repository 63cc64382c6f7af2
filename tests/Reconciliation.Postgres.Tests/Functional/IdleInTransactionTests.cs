using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>A leaky app leaves transactions open; the engine terminates exactly its sessions and no other application's.</summary>
public sealed class IdleInTransactionTests
{
    private const string LeakyApp = "leaky-app";
    private const string OtherApp = "other-app";
    private const string Rule = "idle-tx";

    [Fact]
    public async Task Terminates_only_the_leaky_apps_idle_transactions_and_the_violation_closes_on_the_next_tick()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(IdleInTransactionTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = LeakyApp }.ConnectionString);

        // The leak: two of the app's own pooled connections BEGIN and sit idle. Another application does the same.
        var leaked = new List<NpgsqlConnection>();
        for (var i = 0; i < 2; i++)
        {
            leaked.Add((await ServerQueries.OpenIdleTransactionAsync(await appDataSource.OpenConnectionAsync(ct))).Connection);
        }

        await using var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = OtherApp, Pooling = false }.ConnectionString);
        var (_, otherTransaction) = await ServerQueries.OpenIdleTransactionAsync(other);

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", appDataSource, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1))
            .AddPostgres("whole-db", appDataSource, o => o.IdleInTransactionOfApplicationsOnly = false)
            .AddRule(Rule, r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 1;
                r.Resource = "main-db";
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction));

        // Ages come from the server's clock: wait (bounded) until all three sessions have been idle past the limit.
        await Eventually.UntilAsync(async () => await ServerQueries.IdleInTransactionAsync(database, LeakyApp, 1.5) == 2
                && await ServerQueries.IdleInTransactionAsync(database, OtherApp, 1.5) == 1,
            "the sessions have been idle in transaction for 1.5 s");

        var first = await harness.TickAsync();
        Assert.Equal(2, first.ValueOf(PostgresSignalNames.IdleInTransactionCount, "main-db"));
        Assert.True(first.ValueOf(PostgresSignalNames.IdleInTransactionMaxAge, "main-db") > 1);
        Assert.Equal(3, first.ValueOf(PostgresSignalNames.IdleInTransactionCount, "whole-db"));
        Assert.True(EngineHarness.IsOpen(first, Rule));
        Assert.Empty(first.Heals); // never on the first tick

        var second = await harness.TickAsync();
        var heal = Assert.Single(second.Heals);
        Assert.Equal(PostgresHealerNames.TerminateIdleInTransaction, heal.Healer);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Contains("terminated 2 session(s)", heal.Outcome.Reason, StringComparison.Ordinal);

        // The server agrees: the leaky app's sessions are gone, the other application's is untouched and still in its transaction.
        Assert.Equal(0, await ServerQueries.SessionsAsync(database, LeakyApp));
        Assert.Equal(1, await ServerQueries.IdleInTransactionAsync(database, OtherApp, 0));
        await using (var stillThere = new NpgsqlCommand("SELECT 42", other, otherTransaction))
        {
            Assert.Equal(42, await stillThere.ExecuteScalarAsync(ct));
        }

        var third = await harness.TickAsync();
        Assert.Equal(0, third.ValueOf(PostgresSignalNames.IdleInTransactionCount, "main-db"));
        Assert.Equal(0, third.ValueOf(PostgresSignalNames.IdleInTransactionMaxAge, "main-db"));
        Assert.Equal(ViolationState.Closed, EngineHarness.ViolationOf(third, Rule)?.State);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "SessionTerminated" && r.Message.Contains(LeakyApp, StringComparison.Ordinal));
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Name == "SessionTerminated" && r.Message.Contains(OtherApp, StringComparison.Ordinal));

        await otherTransaction.CommitAsync(ct);
        foreach (var connection in leaked)
        {
            // What the leaky app sees: its session was terminated by the server.
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync(ct));
            Assert.Equal(PostgresErrorCodes.AdminShutdown, error.SqlState);
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Skips_when_no_session_of_the_app_is_idle_long_enough()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(IdleInTransactionTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = LeakyApp }.ConnectionString);
        await using var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = OtherApp, Pooling = false }.ConnectionString);
        var (_, otherTransaction) = await ServerQueries.OpenIdleTransactionAsync(other);
        await Eventually.UntilAsync(async () => await ServerQueries.IdleInTransactionAsync(database, OtherApp, 1.5) == 1, "the other app's session is idle for 1.5 s");

        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", appDataSource,
            o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1)));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.TerminateIdleInTransaction && h.AppliesTo("main-db"));

        var outcome = await healer.HealAsync(new HealContext(Rule, PostgresSignalNames.IdleInTransactionMaxAge, "main-db", 2, 1,
            RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, dryRun: false), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Skipped, outcome.Kind);
        Assert.Equal(1, await ServerQueries.IdleInTransactionAsync(database, OtherApp, 0));
        await otherTransaction.RollbackAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Dry_run_reports_the_plan_and_terminates_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(IdleInTransactionTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = LeakyApp }.ConnectionString);
        var leaky = await appDataSource.OpenConnectionAsync(ct);
        var (_, transaction) = await ServerQueries.OpenIdleTransactionAsync(leaky);
        await Eventually.UntilAsync(async () => await ServerQueries.IdleInTransactionAsync(database, LeakyApp, 1.5) == 1, "the leaky session is idle for 1.5 s");

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", appDataSource, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1))
            .AddRule(Rule, r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 1;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .ConfigureHealer(PostgresHealerNames.TerminateIdleInTransaction, p => p.DryRun = true));

        await harness.TickAsync();
        var second = await harness.TickAsync();

        var heal = Assert.Single(second.Heals);
        Assert.Equal(HealOutcomeKind.DryRun, heal.Outcome.Kind);
        Assert.Contains($"client sessions of '{LeakyApp}'", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(1, await ServerQueries.IdleInTransactionAsync(database, LeakyApp, 0));
        await transaction.RollbackAsync(ct);
        await leaky.DisposeAsync();
    }
}
