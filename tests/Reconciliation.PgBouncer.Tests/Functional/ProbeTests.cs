using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>The probe on the real pooler: one round trip per tick for all declared databases, pool modes, SHOW STATS deltas, failures without secrets.</summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Two_declared_databases_cost_one_round_trip_per_tick_and_report_their_own_pool_mode()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Two_declared_databases_cost_one_round_trip_per_tick_and_report_their_own_pool_mode),
            ("sessdb", null, null), ("txdb", "transaction", 3), ("stmtdb", "statement", null));
        await using var _ = pooler;
        await using var harness = EngineHarness.Create(b => b.AddPgBouncer("pooler", pooler.AdminConnectionString, o =>
        {
            o.Databases.Add("sessdb");
            o.Databases.Add("txdb");
            o.Databases.Add("stmtdb");
        }));
        var resource = harness.Services.GetRequiredKeyedService<PgBouncerResource>("pooler");

        for (var tick = 1; tick <= 3; tick++)
        {
            var report = await harness.TickAsync();
            Assert.Empty(report.ProbeFailures);
            Assert.Equal(tick, resource.RoundTrips);
            Assert.Equal(0, report.ValueOf(PgBouncerSignalNames.PoolMode, "pooler/sessdb"));
            Assert.Equal(1, report.ValueOf(PgBouncerSignalNames.PoolMode, "pooler/txdb"));
            Assert.Equal(2, report.ValueOf(PgBouncerSignalNames.PoolMode, "pooler/stmtdb"));
            Assert.True(report.ValueOf(PgBouncerSignalNames.ClientsUsage, "pooler/txdb") > 0); // the console session itself
            Assert.Equal(0, report.ValueOf(PgBouncerSignalNames.Paused, "pooler/txdb"));
        }
    }

    [Fact]
    public async Task Average_query_and_transaction_times_come_from_SHOW_STATS_deltas_and_have_no_reading_without_traffic()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Average_query_and_transaction_times_come_from_SHOW_STATS_deltas_and_have_no_reading_without_traffic), ("app", "transaction", 2));
        await using var _ = pooler;
        var resource = PgBouncerResourceNames.For("pooler", "app");
        await using var harness = EngineHarness.Create(b => b.AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("app")));

        var baseline = await harness.TickAsync();
        Assert.Null(baseline.ValueOf(PgBouncerSignalNames.QueryAverageTime, resource)); // no previous reading yet

        var quiet = await harness.TickAsync();
        Assert.Null(quiet.ValueOf(PgBouncerSignalNames.QueryAverageTime, resource));
        Assert.Null(quiet.ValueOf(PgBouncerSignalNames.TransactionAverageTime, resource));

        await using (var client = new NpgsqlConnection(pooler.ConnectionStringFor("app", pooling: false)))
        {
            await client.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT pg_sleep(0.3)", client);
            await command.ExecuteNonQueryAsync(ct);
        }

        // The pooler folds finished queries into its totals on its own schedule: tick until the delta shows them.
        ReconciliationReport busy = quiet;
        await Eventually.UntilAsync(async () =>
        {
            busy = await harness.TickAsync();
            return busy.ValueOf(PgBouncerSignalNames.QueryAverageTime, resource) is not null;
        }, "the query shows in SHOW STATS");
        Assert.InRange(busy.ValueOf(PgBouncerSignalNames.QueryAverageTime, resource)!.Value, 0.1, 30);
        Assert.InRange(busy.ValueOf(PgBouncerSignalNames.TransactionAverageTime, resource)!.Value, 0.1, 30);
    }

    [Fact]
    public async Task A_declared_database_the_pooler_does_not_have_fails_its_probe_by_name_and_the_others_still_read()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_declared_database_the_pooler_does_not_have_fails_its_probe_by_name_and_the_others_still_read), ("app", null, null));
        await using var _ = pooler;
        await using var harness = EngineHarness.Create(b => b.AddPgBouncer("pooler", pooler.AdminConnectionString, o =>
        {
            o.Databases.Add("app");
            o.Databases.Add("missing");
        }));

        var report = await harness.TickAsync();

        var failure = Assert.Single(report.ProbeFailures);
        Assert.Equal("pooler/missing", failure.Resource);
        Assert.Contains("has no database 'missing'", failure.Reason, StringComparison.Ordinal);
        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "pooler/missing"));
        Assert.Equal(0, report.ValueOf(PgBouncerSignalNames.ClientsWaiting, "pooler/app"));
    }

    [Fact]
    public async Task A_restarted_pooler_is_read_again_through_a_new_console_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_restarted_pooler_is_read_again_through_a_new_console_connection), ("app", null, null));
        await using var _ = pooler;
        await using var harness = EngineHarness.Create(b => b.AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("app")));
        Assert.Empty((await harness.TickAsync()).ProbeFailures);

        // Some traffic, so the restarted pooler's counters (back at zero) go backwards.
        await using (var client = new NpgsqlConnection(pooler.ConnectionStringFor("app", pooling: false)))
        {
            await client.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT 1", client);
            await command.ExecuteScalarAsync(ct);
        }

        await Eventually.UntilAsync(async () => (await harness.TickAsync()).ValueOf(PgBouncerSignalNames.QueryAverageTime, "pooler/app") is not null,
            "the query shows in SHOW STATS");

        await pooler.StopAsync(TestContext.Current.CancellationToken);
        var down = await harness.TickAsync();
        Assert.Equal(1, down.ValueOf(SignalNames.ProbeFailed, "pooler/app"));

        await pooler.StartAgainAsync(TestContext.Current.CancellationToken);
        var up = await harness.TickAsync();
        Assert.Empty(up.ProbeFailures);
        Assert.Equal(0, up.ValueOf(PgBouncerSignalNames.ClientsWaiting, "pooler/app"));
        Assert.Null(up.ValueOf(PgBouncerSignalNames.QueryAverageTime, "pooler/app"));
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "StatsReset");
    }

    [Fact]
    public async Task A_wrong_admin_password_fails_the_probe_and_no_password_reaches_the_report_logs_or_health_output()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_wrong_admin_password_fails_the_probe_and_no_password_reaches_the_report_logs_or_health_output), ("app", null, null));
        await using var _ = pooler;
        var secret = "S3cret-" + Guid.NewGuid().ToString("N");
        var admin = new NpgsqlConnectionStringBuilder(pooler.AdminConnectionString) { Password = secret }.ConnectionString;
        await using var harness = EngineHarness.Create(
            b => b.AddPgBouncer("pooler", admin, o => o.Databases.Add("app")),
            s => s.AddHealthChecks().AddReconciliation());

        var report = await harness.TickAsync();
        var health = await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "pooler/app"));
        var everything = new StringBuilder();
        foreach (var failure in report.ProbeFailures)
        {
            everything.AppendLine(failure.ToString());
        }

        foreach (var record in harness.Logs.GetSnapshot())
        {
            everything.AppendLine(record.Message).AppendLine(record.Exception?.ToString());
        }

        foreach (var entry in health.Entries)
        {
            everything.AppendLine(entry.Value.Description).AppendLine(entry.Value.Exception?.ToString());
            foreach (var data in entry.Value.Data)
            {
                everything.AppendLine(data.Key + "=" + data.Value);
            }
        }

        var text = everything.ToString();
        Assert.Contains("authentication failed", text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(pooler.AdminPassword, text, StringComparison.Ordinal);
    }
}
