using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>The migration gate and the connection budget against a real server.</summary>
public sealed class MigrationGateTests
{
    [Fact]
    public async Task Says_no_while_a_long_transaction_is_open_and_yes_after_it_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(MigrationGateTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "gate-app", MaxPoolSize = 5 }.ConnectionString);
        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", appDataSource,
            o => o.MigrationGate.MaxTransactionAge = TimeSpan.FromSeconds(1)));
        var gate = harness.Services.GetRequiredService<PostgresMigrationGate>();
        Assert.Same(gate, harness.Services.GetRequiredKeyedService<PostgresMigrationGate>("main-db"));

        var before = await gate.CheckAsync(ct);
        Assert.True(before.IsSafe, before.ToString());

        await using var reporting = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "report-job", Pooling = false }.ConnectionString);
        var (_, transaction) = await ServerQueries.OpenIdleTransactionAsync(reporting);

        PostgresMigrationGateResult? during = null;
        await Eventually.UntilAsync(async () => !(during = await gate.CheckAsync(ct)).IsSafe, "the gate says no");
        var reason = Assert.Single(during!.Reasons);
        Assert.Contains("ACCESS EXCLUSIVE", reason, StringComparison.Ordinal);
        Assert.True(during.OldestTransactionAge > TimeSpan.FromSeconds(1));
        Assert.False(during.InRecovery);

        await transaction.CommitAsync(ct);
        var after = await gate.CheckAsync(ct);
        Assert.True(after.IsSafe, after.ToString());
        Assert.Equal(TimeSpan.Zero, after.OldestTransactionAge);
    }

    [Fact]
    public async Task Capacity_over_budget_is_logged_at_the_first_reading_and_closes_the_gate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(MigrationGateTests));
        await using var fits = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "small-app", MaxPoolSize = 10 }.ConnectionString);
        await using var tooBig = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "big-app", MaxPoolSize = 100 }.ConnectionString);
        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("small", fits, o => o.Replicas = 2)
            .AddPostgres("big", tooBig, o =>
            {
                o.Replicas = 3;
                o.OtherClients = 10;
            }));

        await harness.TickAsync();
        var logs = harness.Logs.GetSnapshot();
        var over = Assert.Single(logs, r => r.Id.Name == "CapacityOverBudget");
        Assert.Equal(101, over.Id.Id);
        Assert.Contains("PostgreSQL big", over.Message, StringComparison.Ordinal);
        Assert.Contains("313", over.Message, StringComparison.Ordinal); // (100 + 1 probe) x 3 + 10, against 200 - 3 reserved
        var within = Assert.Single(logs, r => r.Id.Name == "CapacityWithinBudget");
        Assert.Contains("PostgreSQL small", within.Message, StringComparison.Ordinal);

        // Logged once, not every tick.
        await harness.TickAsync();
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "CapacityOverBudget");

        var big = await harness.Services.GetRequiredKeyedService<PostgresMigrationGate>("big").CheckAsync(ct);
        Assert.False(big.IsSafe);
        Assert.True(big.Capacity.IsOverBudget);
        Assert.Equal(313, big.Capacity.Budget);
        Assert.Equal(big.Capacity.MaxConnections - big.Capacity.ReservedConnections, big.Capacity.AvailableConnections);
        Assert.Contains(big.Reasons, r => r.Contains("connection budget 313", StringComparison.Ordinal));

        var small = await harness.Services.GetRequiredKeyedService<PostgresMigrationGate>("small").CheckAsync(ct);
        Assert.True(small.IsSafe, small.ToString());
        Assert.Equal(22, small.Capacity.Budget);
    }

    [Fact]
    public async Task A_gate_created_without_DI_reports_the_same_verdict()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(MigrationGateTests));
        await using var dataSource = NpgsqlDataSource.Create(database);
        var options = new PostgresReconciliationOptions { Resource = "deploy", Replicas = 1000 };
        await using var gate = new PostgresMigrationGate(dataSource, options);

        var result = await gate.CheckAsync(TestContext.Current.CancellationToken);

        Assert.Equal("deploy", result.Resource);
        Assert.False(result.IsSafe);
        Assert.True(result.Capacity.IsOverBudget);
    }
}
