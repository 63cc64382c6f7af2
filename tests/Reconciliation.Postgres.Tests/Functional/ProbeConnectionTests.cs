using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>The probe's own connection: one session, its own application name, idle outside any transaction between ticks.</summary>
public sealed class ProbeConnectionTests
{
    private const string StateOfProbeSessions = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()";

    [Fact]
    public async Task Clone_of_the_apps_data_source_works_although_its_connection_string_hides_the_password()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(ProbeConnectionTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "clone-app" }.ConnectionString);
        Assert.DoesNotContain(pg.Password, appDataSource.ConnectionString, StringComparison.Ordinal);
        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", appDataSource));

        for (var i = 0; i < 3; i++)
        {
            var report = await harness.TickAsync();
            Assert.Empty(report.ProbeFailures);
            Assert.NotNull(report.ValueOf(PostgresSignalNames.ConnectionsUsage, "main-db"));
        }

        // One probe session, reused across ticks, idle (no transaction, no locks) between them.
        Assert.Equal(1, await ServerQueries.SessionsAsync(database, PostgresReconciliationOptions.DefaultProbeApplicationName));
        Assert.Equal(1, await ServerQueries.CountAsync(database, StateOfProbeSessions + " AND state = 'idle' AND xact_start IS NULL",
            PostgresReconciliationOptions.DefaultProbeApplicationName));
        Assert.Equal(0, await ServerQueries.SessionsAsync(database, "clone-app")); // the app's pool was never touched
    }

    [Fact]
    public async Task A_separate_probe_connection_string_and_application_name_are_used()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(ProbeConnectionTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "separate-app" }.ConnectionString);
        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", appDataSource, o =>
        {
            o.ProbeConnectionString = database;
            o.ProbeApplicationName = "ops-monitor";
        }));

        var report = await harness.TickAsync();
        Assert.Empty(report.ProbeFailures);
        var gate = await harness.Services.GetRequiredService<PostgresMigrationGate>().CheckAsync(TestContext.Current.CancellationToken);
        Assert.True(gate.IsSafe, gate.ToString());

        Assert.Equal(1, await ServerQueries.SessionsAsync(database, "ops-monitor"));
        Assert.Equal(0, await ServerQueries.SessionsAsync(database, PostgresReconciliationOptions.DefaultProbeApplicationName));
    }
}
