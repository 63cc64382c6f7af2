using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>A dedicated PostgreSQL is stopped mid-run and started again: the probe fails while it is down and recovers on its own.</summary>
public sealed class ServerRestartTests
{
    [Fact]
    public async Task Probe_fails_while_the_server_is_down_and_readings_resume_after_it_restarts_without_a_new_engine()
    {
        await using var server = await RequireServer.DedicatedPostgresAsync();
        await using var appDataSource = NpgsqlDataSource.Create(server.ConnectionStringFor("postgres", applicationName: "restart-app"));
        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", appDataSource));
        var engine = harness.Reconciler;

        var up = await harness.TickAsync();
        Assert.Equal(0, up.ValueOf(SignalNames.ProbeFailed, "main-db"));
        Assert.NotNull(up.ValueOf(PostgresSignalNames.ConnectionsUsage, "main-db"));
        Assert.Equal(0, up.ValueOf(PostgresSignalNames.Recovery, "main-db"));

        await server.StopAsync(TestContext.Current.CancellationToken);
        var down = await harness.TickAsync();
        Assert.Equal(1, down.ValueOf(SignalNames.ProbeFailed, "main-db"));
        Assert.Contains(down.ProbeFailures, f => f.Resource == "main-db" && f.Probe == nameof(PostgresServerProbe));
        Assert.Null(down.ValueOf(PostgresSignalNames.ConnectionsUsage, "main-db"));
        var stillDown = await harness.TickAsync();
        Assert.Equal(1, stillDown.ValueOf(SignalNames.ProbeFailed, "main-db"));

        await server.StartAgainAsync(TestContext.Current.CancellationToken);

        // The probe's pooled connection died with the server; Npgsql drops it and the next tick connects again.
        ReconciliationReport? back = null;
        await Eventually.UntilAsync(async () =>
        {
            back = await harness.TickAsync();
            return back.ValueOf(SignalNames.ProbeFailed, "main-db") == 0;
        }, "the probe answers again");
        Assert.NotNull(back!.ValueOf(PostgresSignalNames.ConnectionsUsage, "main-db"));
        Assert.Same(engine, harness.Services.GetRequiredService<IReconciler>());
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "ProbeRecovered");
    }
}
