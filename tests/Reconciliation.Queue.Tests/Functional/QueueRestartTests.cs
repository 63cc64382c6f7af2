using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>A dedicated PostgreSQL stopped mid-run and started again: workers and probes recover without a restart, no job lost.</summary>
public sealed class QueueRestartTests
{
    private const int Jobs = 2000;
    private const string Queue = "restart";

    [Fact]
    public async Task Workers_and_probes_recover_after_the_database_restarts_and_no_job_is_lost()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pg = await RequireServer.DedicatedPostgresAsync();
        await using var dataSource = NpgsqlDataSource.Create(await pg.CreateDatabaseAsync(nameof(QueueRestartTests), ct));
        void Queue(PostgresQueueOptions o) => o.VisibilityTimeout = TimeSpan.FromSeconds(2);
        await using var workers = WorkerHost.Create(dataSource, QueueRestartTests.Queue, Queue, o =>
        {
            o.Concurrency = 2;
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
        }, workers: 4);
        await using var engine = new EngineHost(dataSource, QueueRestartTests.Queue, Queue);
        await workers.Queue(QueueRestartTests.Queue).EnqueueManyAsync(Enumerable.Range(0, Jobs).Select(i => new WorkItem(i, "r")), ct);
        Assert.Empty((await engine.TickAsync(ct)).ProbeFailures);

        // Each job does a little real work, so jobs are still left when the server stops (the workers are fast enough
        // to finish 2,000 no-op jobs while PostgreSQL shuts down, and then nothing would run after the restart).
        workers.Script.Run = static (_, cancel) => Task.Delay(TimeSpan.FromMilliseconds(20), cancel);
        await workers.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(workers.Script.Executions.Count >= Jobs / 5), TimeSpan.FromSeconds(60)));

        await pg.StopAsync(ct);
        var executedAtStop = workers.Script.Executions.Count;
        ReconciliationReport down = await engine.TickAsync(ct);
        Assert.Contains(down.ProbeFailures, f => f.Resource == QueueRestartTests.Queue);
        Assert.Equal(1, down.ValueOf("probe.failed", QueueRestartTests.Queue));
        Assert.DoesNotContain(pg.Password, string.Join(" ", down.ProbeFailures.Select(f => f.Reason)), StringComparison.Ordinal);
        await pg.StartAgainAsync(ct);

        // Same host, same data source, same workers: they find the server again by themselves.
        ReconciliationReport? last = null;
        var settled = await TestDatabase.EventuallyAsync(
            async () =>
            {
                try
                {
                    return await dataSource.ScalarAsync("SELECT count(*) FROM restart WHERE state IN ('completed', 'dead')") == Jobs;
                }
                catch (NpgsqlException)
                {
                    return false; // a pooled connection from before the restart
                }
            },
            TimeSpan.FromSeconds(90),
            async () => last = await engine.TickAsync(ct));
        await workers.StopAsync(CancellationToken.None);

        Assert.True(settled, "not every job reached completed or dead after the restart");
        Assert.True(workers.Script.Executions.Count > executedAtStop);
        last = await engine.TickAsync(ct);
        Assert.Empty(last.ProbeFailures);
        Assert.Equal(0, last.ValueOf("probe.failed", QueueRestartTests.Queue));
        Assert.Equal(0, last.ValueOf(QueueSignalNames.Depth, QueueRestartTests.Queue));
        Assert.Equal(0, last.ValueOf(QueueSignalNames.Stuck, QueueRestartTests.Queue));

        Assert.Equal(Jobs, await dataSource.ScalarAsync("SELECT count(*) FROM restart"));
        Assert.Equal(Jobs, await dataSource.ScalarAsync("SELECT count(*) FROM restart WHERE state = 'completed' AND completions = 1"));
        Assert.Equal(Jobs, workers.Script.Executions.Count);
    }
}
