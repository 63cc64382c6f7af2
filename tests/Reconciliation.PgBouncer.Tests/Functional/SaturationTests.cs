using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>A pool of two server connections, both held through the real PgBouncer, and a third client queued behind them.</summary>
public sealed class SaturationTests
{
    private const string Rule = "pooler-clients-waiting";

    [Fact]
    public async Task Saturated_pool_shows_waiting_clients_and_a_rising_wait_and_the_rule_opens_then_closes_when_served()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(SaturationTests), ("app", "session", 2));
        await using var _ = pooler;
        var resource = PgBouncerResourceNames.For("pooler", "app");

        await using var harness = EngineHarness.Create(b => b
            .AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("app"))
            .AddRule(Rule, r =>
            {
                r.Signal = PgBouncerSignalNames.ClientsWaiting;
                r.Above = 0.5;
                r.Clear = 0.5;
            }));

        var idle = await harness.TickAsync();
        Assert.Equal(0, idle.ValueOf(PgBouncerSignalNames.ClientsWaiting, resource));
        Assert.Equal(0, idle.ValueOf(PgBouncerSignalNames.WaitMax, resource));
        Assert.Equal(0, idle.ValueOf(PgBouncerSignalNames.ServersUsage, resource));
        Assert.Equal(0, idle.ValueOf(PgBouncerSignalNames.PoolMode, resource));
        Assert.False(EngineHarness.IsOpen(idle, Rule));

        // Session mode: each client keeps its server connection from its first query until it disconnects.
        var app = new NpgsqlConnectionStringBuilder(pooler.ConnectionStringFor("app", pooling: false)) { Timeout = 60, CommandTimeout = 60 }.ConnectionString;
        await using var held1 = await OpenAndQueryAsync(app, ct);
        await using var held2 = await OpenAndQueryAsync(app, ct);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var queued = OpenAndQueryAsync(app, giveUp.Token);

        // The pooler's own clock measures the wait: tick until it has seen the client wait for a while.
        ReconciliationReport saturated = idle;
        await Eventually.UntilAsync(async () =>
        {
            saturated = await harness.TickAsync();
            return saturated.ValueOf(PgBouncerSignalNames.ClientsWaiting, resource) >= 1
                && saturated.ValueOf(PgBouncerSignalNames.WaitMax, resource) > 0;
        }, "the pooler reports a client waiting with a non-zero wait");
        Assert.False(queued.IsCompleted);
        Assert.Equal(1.0, saturated.ValueOf(PgBouncerSignalNames.ServersUsage, resource));
        Assert.True(EngineHarness.IsOpen(saturated, Rule));
        var firstWait = saturated.ValueOf(PgBouncerSignalNames.WaitMax, resource)!.Value;

        // The wait keeps rising while nothing is released.
        await Eventually.UntilAsync(async () =>
        {
            var later = await harness.TickAsync();
            return later.ValueOf(PgBouncerSignalNames.WaitMax, resource) > firstWait + 0.1;
        }, "the longest wait rises");

        // Releasing one server connection serves the queued client; nothing waits and the violation closes.
        await held1.DisposeAsync();
        await using var served = await queued.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var drained = await harness.TickAsync();
        Assert.Equal(0, drained.ValueOf(PgBouncerSignalNames.ClientsWaiting, resource));
        Assert.Equal(0, drained.ValueOf(PgBouncerSignalNames.WaitMax, resource));
        Assert.False(EngineHarness.IsOpen(drained, Rule));
    }

    internal static async Task<NpgsqlConnection> OpenAndQueryAsync(string connectionString, CancellationToken ct)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(ct);
        return connection;
    }
}
