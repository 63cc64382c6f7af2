using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// Issue 20: every default app (Npgsql's default pool of 100) on a default PostgreSQL (max_connections 100, 3 reserved)
/// started with a connection-budget warning. Nothing declared now reads as information; a declared budget that does not
/// fit is still a warning, and says what to set.
/// </summary>
public sealed class ConnectionBudgetDefaultsTests
{
    [Fact]
    public async Task A_default_app_on_a_default_server_starts_quiet_and_a_declared_pool_that_does_not_fit_gets_an_actionable_warning()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pg = await RequireServer.DedicatedPostgresAsync();
        await using (var admin = new NpgsqlConnection(pg.AdminConnectionString))
        {
            await admin.OpenAsync(ct);
            await using var alter = new NpgsqlCommand("ALTER SYSTEM SET max_connections = 100", admin);
            await alter.ExecuteNonQueryAsync(ct);
        }

        await pg.StopAsync(ct);
        await pg.StartAgainAsync(ct);
        var database = await pg.CreateDatabaseAsync(nameof(ConnectionBudgetDefaultsTests));
        await using var defaults = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "default-app" }.ConnectionString);
        await using var declared = NpgsqlDataSource.Create(database + ";Maximum Pool Size=100;Application Name=declared-app");
        await using var harness = EngineHarness.Create(b => b.AddPostgres("defaults", defaults).AddPostgres("declared", declared));

        var report = await harness.TickAsync();

        Assert.Empty(report.ProbeFailures);
        var logs = harness.Logs.GetSnapshot();
        var quiet = Assert.Single(logs, r => r.Message.StartsWith("PostgreSQL defaults: ", StringComparison.Ordinal) && r.Id.Name!.StartsWith("Capacity", StringComparison.Ordinal));
        Assert.Equal(("CapacityNotDeclared", Microsoft.Extensions.Logging.LogLevel.Information), (quiet.Id.Name, quiet.Level));
        Assert.Contains("97 usable connections", quiet.Message, StringComparison.Ordinal);
        Assert.Contains("Max Pool Size=96", quiet.Message, StringComparison.Ordinal);

        var warning = Assert.Single(logs, r => r.Id.Name == "CapacityOverBudget");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.StartsWith("PostgreSQL declared: connection budget 101 exceeds the 97 usable connections", warning.Message, StringComparison.Ordinal);
        // Actionable: the pool size that fits, or the max_connections the budget needs ((100 + 1 probe) + 3 reserved).
        Assert.Contains("set Max Pool Size=96 (or less) in the app's connection string, or raise the server's max_connections to at least 104", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=h;Max Pool Size=5", true)]
    [InlineData("Host=h;maximum pool size=5", true)]
    [InlineData("Host=h;MaxPoolSize=5", true)]
    [InlineData("Host=h;Minimum Pool Size=5", false)]
    [InlineData("Host=h", false)]
    public void Max_Pool_Size_counts_as_declared_under_each_of_its_spellings(string connectionString, bool declared) =>
        Assert.Equal(declared, PostgresResource.DeclaresMaxPoolSize(connectionString));
}
