using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reconciliation.Queue.Recurring;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>Recurring (cron) jobs: three replicas schedule the same job; each slot is enqueued once.</summary>
public sealed class QueueRecurringTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_cron_job_registered_by_three_hosts_is_enqueued_once_per_slot()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueRecurringTests));
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 30, TimeSpan.Zero);
        var time = new TimerWatchingTimeProvider(start);
        var providers = new List<ServiceProvider>();
        var schedulers = new List<RecurringJobScheduler<WorkItem>>();
        try
        {
            for (var host = 0; host < 3; host++)
            {
                var services = new ServiceCollection();
                services.AddLogging();
                services.AddSingleton<TimeProvider>(time);
                services.AddStateReconciliation()
                    .AddPostgresQueue("cron_jobs", o => o.DataSource = dataSource)
                    .AddRecurringJob("cron_jobs", "minutely-report", "* * * * *", slot => new WorkItem(slot.Minute, "report"));
                var provider = services.BuildServiceProvider();
                providers.Add(provider);
                var scheduler = provider.GetServices<IHostedService>().OfType<RecurringJobScheduler<WorkItem>>().Single();
                schedulers.Add(scheduler);
                await scheduler.StartAsync(Ct);
            }

            for (var slot = 1; slot <= 3; slot++)
            {
                // Each scheduler runs on its own (BackgroundService) and arms its wait for the slot some time after it
                // started or enqueued the previous slot. The clock moves only once all three wait for it: advanced
                // earlier, a scheduler that has read the clock but not armed its timer yet would arm it a whole wait
                // after the new time and sleep through the slot.
                var due = start.AddSeconds(-30).AddMinutes(slot);
                try
                {
                    await time.TimersDueAtAsync(due, schedulers.Count, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"not every host waits for slot {slot} ({due:HH:mm:ss}) after 30 s: {time}");
                }

                time.Advance(TimeSpan.FromMinutes(1));
                var expected = slot;
                Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(schedulers.All(s => s.Attempts == expected)), TimeSpan.FromSeconds(30)),
                    $"not every host reached slot {slot}: {string.Join(", ", schedulers.Select(s => s.Attempts))}");
            }

            Assert.Equal(3, await dataSource.ScalarAsync("SELECT count(*) FROM cron_jobs"));
            Assert.Equal(3, await dataSource.ScalarAsync("SELECT count(DISTINCT idempotency_key) FROM cron_jobs"));
            Assert.Equal(1, await dataSource.ScalarAsync("""
                SELECT count(*) FROM cron_jobs
                WHERE idempotency_key = 'recurring:minutely-report:2026-01-01T00:02:00Z' AND run_at = '2026-01-01T00:02:00Z' AND payload->>'number' = '2'
                """));
        }
        finally
        {
            foreach (var scheduler in schedulers)
            {
                await scheduler.StopAsync(CancellationToken.None);
            }

            foreach (var provider in providers)
            {
                await provider.DisposeAsync();
            }
        }
    }

    [Fact]
    public void A_bad_cron_expression_is_refused_at_registration_naming_the_job()
    {
        var services = new ServiceCollection();
        var builder = services.AddStateReconciliation().AddPostgresQueue("cron_bad");
        var error = Assert.Throws<ArgumentException>(() => builder.AddRecurringJob("cron_bad", "nightly", "61 * * * *", _ => new WorkItem(1, "x")));
        Assert.Contains("The recurring job 'nightly' of queue 'cron_bad': '61 * * * *' is not a valid cron expression", error.Message, StringComparison.Ordinal);
    }
}
