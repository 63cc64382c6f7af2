using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The queue probe reads on its own connection, so it still answers while the app's pool is saturated.</summary>
public sealed class QueueProbeConnectionTests
{
    [Fact]
    public async Task The_probe_answers_while_every_connection_of_the_apps_pool_is_held()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync(nameof(QueueProbeConnectionTests), ct);
        await using var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = 2, Timeout = 2 }.ConnectionString);
        var queue = TestQueue.Create(app, "saturated_q");
        await queue.EnqueueAsync(new WorkItem(1, "s"), cancellationToken: ct);
        await using var engine = new EngineHost(app, "saturated_q");
        await engine.TickAsync(ct); // migrations done, probe pool warm

        await using var held1 = await app.OpenConnectionAsync(ct);
        await using var held2 = await app.OpenConnectionAsync(ct);
        var report = await engine.TickAsync(ct);

        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "saturated_q"));
        Assert.Equal(1, report.ValueOf(QueueSignalNames.Depth, "saturated_q"));

        // The probe's session carries its own application_name and is idle outside any transaction between ticks.
        await using var admin = new NpgsqlConnection(server.AdminConnectionString);
        await admin.OpenAsync(ct);
        await using var sessions = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE state = 'idle'), count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2", admin);
        sessions.Parameters.Add(new NpgsqlParameter { Value = QueueProbeConnector.ApplicationName });
        sessions.Parameters.Add(new NpgsqlParameter { Value = new NpgsqlConnectionStringBuilder(database).Database });
        await using var reader = await sessions.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        Assert.Equal(1, reader.GetInt64(1));
        Assert.Equal(1, reader.GetInt64(0));
    }
}
