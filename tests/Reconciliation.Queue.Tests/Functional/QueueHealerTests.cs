using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The probe, the healers and the retention service, driven through the engine and a fake clock.</summary>
public sealed class QueueHealerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<NpgsqlDataSource> Db() => TestDatabase.GetAsync(nameof(QueueHealerTests));

    [Fact]
    public async Task The_engine_sees_a_stuck_job_and_requeue_stuck_gives_it_back_to_the_queue()
    {
        var dataSource = await Db();
        await using var engine = new EngineHost(dataSource, "h_requeue");
        var queue = TestQueue.Create(dataSource, "h_requeue");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "s"), cancellationToken: Ct)).JobId;
        await queue.DequeueAsync(1, Ct);
        await dataSource.ExecuteAsync($"UPDATE h_requeue SET leased_until = now() - interval '1 second' WHERE id = {id}");

        var first = await engine.TickAsync(Ct); // first tick: readings only, no heal
        Assert.Equal(1, first.ValueOf(QueueSignalNames.Stuck, "h_requeue"));
        Assert.Empty(first.Heals);

        var second = await engine.TickAsync(Ct);
        var heal = Assert.Single(second.Heals);
        Assert.Equal(QueueHealerNames.RequeueStuck, heal.Healer);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Equal("requeued 1 stuck job(s), dead-lettered 0", heal.Outcome.Reason);

        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Pending, job!.State);
        Assert.Equal(1, job.Attempts);

        var third = await engine.TickAsync(Ct);
        Assert.Equal(0, third.ValueOf(QueueSignalNames.Stuck, "h_requeue"));
        Assert.Equal(1, third.ValueOf(QueueSignalNames.Depth, "h_requeue"));
        Assert.True(third.IsHealthy);
    }

    [Fact]
    public async Task A_rule_healed_by_dead_letter_moves_jobs_over_their_max_attempts_to_dead()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("h_dead", o => o.DataSource = dataSource)
            .AddRule("poison", r =>
            {
                r.Signal = QueueSignalNames.Stuck;
                r.Above = 0;
                r.Heal.Add(QueueHealerNames.DeadLetter);
            });
        await using var provider = services.BuildServiceProvider();
        var queue = provider.GetRequiredService<IJobQueueFactory>().GetQueue("h_dead");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "p"), cancellationToken: Ct)).JobId;
        await dataSource.ExecuteAsync($"UPDATE h_dead SET attempts = 5 WHERE id = {id}");
        var reconciler = provider.GetRequiredService<IReconciler>();

        await reconciler.ReconcileOnceAsync(Ct);
        time.Advance(TimeSpan.FromSeconds(10));
        var report = await reconciler.ReconcileOnceAsync(Ct);

        Assert.Contains(report.Heals, h => h.Healer == QueueHealerNames.DeadLetter && h.Outcome.Kind == HealOutcomeKind.Healed);
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Dead, job!.State);
        Assert.StartsWith("dead-lettered after 5 attempts", job.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_purges_on_its_interval_on_the_injected_clock()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateReconciliation().AddPostgresQueue("h_retention", o =>
        {
            o.DataSource = dataSource;
            o.Retention = TimeSpan.FromDays(1);
            o.RetentionInterval = TimeSpan.FromMinutes(10);
            o.BatchSize = 7;
        });
        await using var provider = services.BuildServiceProvider();
        var queue = provider.GetRequiredService<IJobQueueFactory>().GetQueue("h_retention");
        async Task AddOldCompletedAsync(int count)
        {
            await queue.EnqueueManyAsync(Enumerable.Range(0, count).Select(i => new WorkItem(i, "old")), Ct);
            await dataSource.ExecuteAsync("UPDATE h_retention SET state = 'completed', completions = 1, completed_at = now() - interval '2 days' WHERE state = 'pending'");
        }

        await AddOldCompletedAsync(20);
        var service = provider.GetServices<IHostedService>().OfType<QueueRetentionService>().Single();
        await service.StartAsync(Ct);
        try
        {
            // The first purge runs at start.
            Assert.True(await TestDatabase.EventuallyAsync(async () => await dataSource.ScalarAsync("SELECT count(*) FROM h_retention") == 0, TimeSpan.FromSeconds(20)));

            await AddOldCompletedAsync(15);
            await dataSource.ExecuteAsync("INSERT INTO h_retention (kind, payload, max_attempts, state, dead_at) VALUES ('k', '{}', 5, 'dead', now() - interval '30 days')");
            time.Advance(TimeSpan.FromMinutes(10));

            Assert.True(await TestDatabase.EventuallyAsync(async () => await dataSource.ScalarAsync("SELECT count(*) FROM h_retention WHERE state = 'completed'") == 0, TimeSpan.FromSeconds(20)));
            Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM h_retention WHERE state = 'dead'"));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }
}
