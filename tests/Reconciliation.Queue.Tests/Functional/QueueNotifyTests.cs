using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Queue.Notifications;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>LISTEN/NOTIFY: idle workers wake at an enqueue's commit, the listener reconnects, and cancellation reaches a running handler.</summary>
public sealed class QueueNotifyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    // Polling effectively off: only a notification can wake the worker within a test's lifetime.
    private static readonly TimeSpan NoPolling = TimeSpan.FromHours(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_idle_worker_is_woken_by_the_enqueue_not_by_polling()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueNotifyTests));
        await using var host = WorkerHost.Create(dataSource, "n_wake", configureWorker: o => o.PollInterval = NoPolling);
        var queue = host.Queue("n_wake");
        await queue.MigrateAsync(Ct);
        await host.StartAsync();
        await Listener(host).Listening.WaitAsync(Deadline, Ct);
        var ran = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Script.Run = (job, _) =>
        {
            ran.TrySetResult(job.Id);
            return Task.CompletedTask;
        };

        // Let the worker's first (empty) look finish, so it sleeps on its one-hour poll.
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.IsEmpty), Deadline));
        var id = (await queue.EnqueueAsync(new WorkItem(1, "wake"), cancellationToken: Ct)).JobId;

        Assert.Equal(id, await ran.Task.WaitAsync(Deadline, Ct));
    }

    [Fact]
    public async Task After_the_listen_connection_is_killed_it_reconnects_and_jobs_still_wake_workers()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueNotifyTests));
        await using var host = WorkerHost.Create(dataSource, "n_reconnect", configureWorker: o => o.PollInterval = NoPolling);
        var queue = host.Queue("n_reconnect");
        await queue.MigrateAsync(Ct);
        await host.StartAsync();
        var listener = Listener(host);
        await listener.Listening.WaitAsync(Deadline, Ct);
        var oldPid = listener.ProcessId;

        await dataSource.ExecuteAsync($"SELECT pg_terminate_backend({oldPid})");
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(listener.ProcessId != 0 && listener.ProcessId != oldPid), Deadline));

        var id = (await queue.EnqueueAsync(new WorkItem(2, "again"), cancellationToken: Ct)).JobId;
        Assert.True(await TestDatabase.EventuallyAsync(async () => (await queue.GetJobAsync(id, Ct))!.State == JobState.Completed, Deadline));
    }

    [Fact]
    public async Task Cancelling_a_running_job_cancels_its_handler_at_once_and_a_cancelled_pending_job_never_runs()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueNotifyTests));
        await using var host = WorkerHost.Create(dataSource, "n_cancel", o => o.VisibilityTimeout = TimeSpan.FromHours(1),
            o => o.PollInterval = TimeSpan.FromMilliseconds(50));
        var queue = host.Queue("n_cancel");
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Script.Run = async (job, ct) =>
        {
            if (job.Payload.Number != 1)
            {
                return;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                handlerCancelled.TrySetResult();
            }
        };
        var pending = (await queue.EnqueueAsync(new WorkItem(0, "never"), new JobOptions { Delay = TimeSpan.FromHours(1) }, Ct)).JobId;
        var running = (await queue.EnqueueAsync(new WorkItem(1, "long"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        await Listener(host).Listening.WaitAsync(Deadline, Ct);
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(running)), Deadline));

        Assert.True(await queue.CancelAsync(pending, "not needed", Ct));
        Assert.True(await queue.CancelAsync(running, cancellationToken: Ct));
        Assert.False(await queue.CancelAsync(running, cancellationToken: Ct)); // already cancelled

        // The heartbeat is an hour away: only the notification can have cancelled the handler.
        await handlerCancelled.Task.WaitAsync(Deadline, Ct);
        var job = await queue.GetJobAsync(running, Ct);
        Assert.Equal(JobState.Cancelled, job!.State);
        Assert.Equal(0, job.Completions);
        Assert.Equal(JobState.Cancelled, (await queue.GetJobAsync(pending, Ct))!.State);
        Assert.Equal("not needed", (await queue.GetJobAsync(pending, Ct))!.LastError);
        Assert.False(host.Script.Executions.ContainsKey(pending));
    }

    private static QueueListener Listener(WorkerHost host) =>
        host.Services.GetRequiredService<QueueListenerHub>().For(((PostgresJobQueue)host.Queue(host.QueueName)).DataSource);
}
