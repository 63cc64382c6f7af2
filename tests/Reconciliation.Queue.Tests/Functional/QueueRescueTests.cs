using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The built-in rescue: a dead worker's jobs run again with no rule configured; the healer forces it within MaxTargets.</summary>
public sealed class QueueRescueTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_killed_workers_jobs_complete_with_no_rule_configured()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueRescueTests));
        var crashed = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
        await using var host = WorkerHost.Create(dataSource, "r_killed", o =>
            {
                o.VisibilityTimeout = TimeSpan.FromSeconds(1);
                o.RescueInterval = TimeSpan.FromMilliseconds(200);
            },
            o =>
            {
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(300);
                // The first run of every job "dies" after its handler: no completion, no more heartbeats.
                o.SimulateCrash = lease => crashed.TryAdd(lease.Id, true);
            },
            workers: 2, rescue: true);
        var queue = host.Queue("r_killed");
        var ids = await queue.EnqueueManyAsync(Enumerable.Range(0, 20).Select(i => new WorkItem(i, "k")), Ct);
        await host.StartAsync();

        Assert.True(await TestDatabase.EventuallyAsync(async () =>
            await dataSource.ScalarAsync("SELECT count(*) FROM r_killed WHERE state = 'completed'") == ids.Count, Deadline));
        Assert.Equal(ids.Count, crashed.Count);
        Assert.Equal(ids.Count, await dataSource.ScalarAsync("SELECT count(*) FROM r_killed WHERE completions = 1 AND attempts = 1"));
        var job = await queue.GetJobAsync(ids[0], Ct);
        Assert.Contains(job!.Errors, e => e.Error.StartsWith("lease lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replicas_rescuing_at_once_requeue_each_stuck_job_once()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueRescueTests));
        var queues = Enumerable.Range(0, 4).Select(_ => TestQueue.Create(dataSource, "r_race", o => o.BatchSize = 7)).ToArray();
        await queues[0].EnqueueManyAsync(Enumerable.Range(0, 100).Select(i => new WorkItem(i, "r")), Ct);
        Assert.Equal(100, (await queues[0].DequeueAsync(100, Ct)).Count);
        await dataSource.ExecuteAsync("UPDATE r_race SET leased_until = now() - interval '1 second'");

        var results = await Task.WhenAll(queues.Select(q => q.RequeueStuckAsync(Ct)));

        Assert.Equal(100, results.Sum(r => r.Requeued));
        Assert.Equal(100, await dataSource.ScalarAsync("SELECT count(*) FROM r_race WHERE state = 'pending' AND attempts = 1"));
    }

    [Fact]
    public async Task The_requeue_stuck_healer_honours_MaxTargets_and_says_when_it_binds()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueRescueTests));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation().AddPostgresQueue("r_cap", o => o.DataSource = dataSource);
        await using var provider = services.BuildServiceProvider();
        var queue = provider.GetRequiredService<IJobQueueFactory>().GetQueue("r_cap");
        await queue.EnqueueManyAsync(Enumerable.Range(0, 5).Select(i => new WorkItem(i, "c")), Ct);
        await queue.DequeueAsync(5, Ct);
        await dataSource.ExecuteAsync("UPDATE r_cap SET leased_until = now() - interval '1 second'");
        var healer = provider.GetServices<IHealer>().Single(h => h.Name == QueueHealerNames.RequeueStuck && h.AppliesTo("r_cap"));

        var capped = await healer.HealAsync(Context(maxTargets: 3), Ct);
        Assert.Equal(HealOutcomeKind.Healed, capped.Kind);
        Assert.Equal("requeued 3 stuck job(s), dead-lettered 0 (capped at MaxTargets = 3; more stuck jobs may remain for the next heal)", capped.Reason);
        Assert.Equal(2, await dataSource.ScalarAsync("SELECT count(*) FROM r_cap WHERE state = 'running'"));

        var rest = await healer.HealAsync(Context(maxTargets: 3), Ct);
        Assert.Equal("requeued 2 stuck job(s), dead-lettered 0", rest.Reason);
        Assert.Equal(5, await dataSource.ScalarAsync("SELECT count(*) FROM r_cap WHERE state = 'pending'"));
    }

    [Fact]
    public async Task Regression_a_worker_that_leases_again_a_job_it_lost_still_cancels_the_old_run()
    {
        // Leases were kept by job id: the new lease of a rescued job replaced the old one in the worker's table, so the
        // old run was no longer heartbeated, never learnt it had lost its lease, and was never cancelled.
        var dataSource = await TestDatabase.GetAsync(nameof(QueueRescueTests));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var oldRunCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = WorkerHost.Create(dataSource, "r_twice", o => o.VisibilityTimeout = TimeSpan.FromSeconds(30),
            o =>
            {
                o.Concurrency = 2;
                o.HeartbeatInterval = TimeSpan.FromSeconds(10);
            }, time: time);
        host.Script.Run = async (job, ct) =>
        {
            if (job.Payload.Number == 1 && job.Attempt == 1)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                finally
                {
                    oldRunCancelled.TrySetResult();
                }
            }
        };
        var queue = host.Queue("r_twice");
        await queue.MigrateAsync(Ct);
        var id = (await queue.EnqueueAsync(new WorkItem(1, "twice"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        await host.Services.GetRequiredService<Notifications.QueueListenerHub>().For(((PostgresJobQueue)queue).DataSource).Listening.WaitAsync(Deadline, Ct);
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(id)), Deadline));

        // Rescued while its first run still runs here; a new enqueue wakes this same worker, which leases it again.
        await dataSource.ExecuteAsync($"UPDATE r_twice SET leased_until = now() - interval '1 second' WHERE id = {id}");
        Assert.Equal((1L, 0L), await queue.RequeueStuckAsync(Ct));
        await queue.EnqueueAsync(new WorkItem(2, "wake"), cancellationToken: Ct);
        Assert.True(await TestDatabase.EventuallyAsync(async () => (await queue.GetJobAsync(id, Ct))!.State == JobState.Completed, Deadline));

        time.Advance(TimeSpan.FromSeconds(10)); // the old lease's heartbeat is refused
        await oldRunCancelled.Task.WaitAsync(Deadline, Ct);
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(1, job!.Completions);
        Assert.Equal(2, host.Script.Executions[id]);
    }

    private static HealContext Context(int? maxTargets) =>
        new("stuck", QueueSignalNames.Stuck, "r_cap", 5, 0, RuleSeverity.Degraded, DateTimeOffset.UnixEpoch, 1, dryRun: false) { MaxTargets = maxTargets };
}
