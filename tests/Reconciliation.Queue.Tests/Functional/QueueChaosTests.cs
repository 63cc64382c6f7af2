using System.Collections.Concurrent;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>
/// 10,000 jobs, 8 workers, 5 % of leases abandoned as if the worker process died: the engine detects <c>queue.stuck</c>
/// and requeues; in the end every job is completed exactly once or dead-lettered, checked in the table.
/// </summary>
public sealed class QueueChaosTests
{
    private const int Jobs = 10_000;
    private const string Queue = "chaos";

    [Fact]
    public async Task Every_job_is_completed_exactly_once_or_dead_lettered_when_5_percent_of_workers_die_mid_job()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataSource = await TestDatabase.GetAsync(nameof(QueueChaosTests));
        var random = new Random(20261125);
        var crashes = new ConcurrentBag<long>();
        void Queue(PostgresQueueOptions o)
        {
            o.VisibilityTimeout = TimeSpan.FromSeconds(2);
            o.MaxAttempts = 5;
        }

        await using var workers = WorkerHost.Create(dataSource, QueueChaosTests.Queue, Queue, o =>
        {
            o.Concurrency = 1;
            o.PollInterval = TimeSpan.FromMilliseconds(20);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
            o.SimulateCrash = lease =>
            {
                bool crash;
                lock (random)
                {
                    crash = random.NextDouble() < 0.05;
                }

                if (crash)
                {
                    crashes.Add(lease.Id);
                }

                return crash;
            };
        }, workers: 8);
        await using var engine = new EngineHost(dataSource, QueueChaosTests.Queue, Queue);
        var ids = await workers.Queue(QueueChaosTests.Queue).EnqueueManyAsync(Enumerable.Range(0, Jobs).Select(i => new WorkItem(i, "chaos")), ct);
        Assert.Equal(Jobs, ids.Count);

        await workers.StartAsync();
        var heals = new List<HealResult>();
        double maxStuck = 0;
        var settled = await TestDatabase.EventuallyAsync(
            async () => await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE state IN ('completed', 'dead')") == Jobs,
            TimeSpan.FromSeconds(90),
            async () =>
            {
                var report = await engine.TickAsync(ct);
                heals.AddRange(report.Heals);
                maxStuck = Math.Max(maxStuck, report.ValueOf(QueueSignalNames.Stuck, QueueChaosTests.Queue) ?? 0);
            });
        await workers.StopAsync(CancellationToken.None);

        Assert.True(settled, "not every job reached completed or dead in time");
        Assert.InRange(crashes.Count, 300, 700); // ~5 % of ~10,500 leases
        Assert.True(maxStuck > 0, "the probe never saw a stuck job");
        Assert.Contains(heals, h => h.Healer == QueueHealerNames.RequeueStuck && h.Outcome.Kind == HealOutcomeKind.Healed);

        // Checked in the table: none lost, none completed twice.
        Assert.Equal(Jobs, await dataSource.ScalarAsync("SELECT count(*) FROM chaos"));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE completions > 1"));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE state = 'completed' AND completions <> 1"));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE state = 'dead' AND completions <> 0"));
        var completed = await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE state = 'completed'");
        var dead = await dataSource.ScalarAsync("SELECT count(*) FROM chaos WHERE state = 'dead'");
        Assert.Equal(Jobs, completed + dead);

        // Every abandoned lease was found and requeued: each abandoned job carries at least one attempt per abandonment.
        // (At least, not exactly: under heavy load a live worker can also lose a lease, which is allowed and safe.)
        var perJob = crashes.GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        await using (var command = dataSource.CreateCommand(
            "SELECT count(*) FROM chaos c JOIN unnest(@ids, @crashes) AS x(id, n) ON c.id = x.id WHERE c.attempts < x.n"))
        {
            command.Parameters.AddWithValue("ids", perJob.Keys.ToArray());
            command.Parameters.AddWithValue("crashes", perJob.Values.ToArray());
            Assert.Equal(0L, await command.ExecuteScalarAsync(ct));
        }

        Assert.True(await dataSource.ScalarAsync("SELECT COALESCE(sum(attempts), 0) FROM chaos") >= crashes.Count);

        // At-least-once execution: every job ran, the abandoned ones again.
        Assert.Equal(Jobs, workers.Script.Executions.Count);
        Assert.True(workers.Script.Executions.Values.Sum() >= Jobs + crashes.Count - dead);
        TestContext.Current.TestOutputHelper?.WriteLine($"crashes={crashes.Count} completed={completed} dead={dead} attempts={await dataSource.ScalarAsync("SELECT sum(attempts) FROM chaos")} executions={workers.Script.Executions.Values.Sum()} heals={heals.Count} maxStuck={maxStuck}");
    }
}
