using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The hosted worker against a real PostgreSQL: completion, failures, poison payloads, heartbeats, shutdown.</summary>
public sealed class QueueWorkerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<NpgsqlDataSource> Db() => TestDatabase.GetAsync(nameof(QueueWorkerTests));

    [Fact]
    public async Task Workers_complete_every_job_once()
    {
        var dataSource = await Db();
        await using var host = WorkerHost.Create(dataSource, "w_basic", workers: 2, configureWorker: o => o.Concurrency = 3);
        await host.Queue("w_basic").EnqueueManyAsync(Enumerable.Range(0, 100).Select(i => new WorkItem(i, "w")), Ct);
        await host.StartAsync();

        Assert.True(await TestDatabase.EventuallyAsync(async () => await dataSource.ScalarAsync("SELECT count(*) FROM w_basic WHERE state = 'completed'") == 100, Deadline));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM w_basic WHERE completions <> 1"));
        Assert.Equal(100, host.Script.Executions.Count);
    }

    [Fact]
    public async Task An_undeserializable_payload_goes_to_dead_letter_with_the_reason_and_never_reaches_the_handler()
    {
        var dataSource = await Db();
        await using var host = WorkerHost.Create(dataSource, "w_poison");
        var queue = host.Queue("w_poison");
        // Written for WorkItem's worker (its kind), in other shapes: an older producer, a bug, a hand-made row.
        var kind = new JobOptions { Kind = JobKind.Of<WorkItem>() };
        var wrongShape = (await queue.EnqueueAsync(new { Number = "not a number", Text = 5 }, kind, Ct)).JobId;
        var array = (await queue.EnqueueAsync(new[] { 1, 2, 3 }, kind, Ct)).JobId;
        var otherRecord = (await queue.EnqueueAsync(new { OrderId = 42, Email = "a@b.c" }, kind, Ct)).JobId; // read leniently: WorkItem(0, null)
        var missingMember = (await queue.EnqueueAsync(new { Number = 3 }, kind, Ct)).JobId;
        var good = (await queue.EnqueueAsync(new WorkItem(7, "fine"), cancellationToken: Ct)).JobId;
        await host.StartAsync();

        Assert.True(await TestDatabase.EventuallyAsync(async () =>
            await dataSource.ScalarAsync("SELECT count(*) FROM w_poison WHERE state IN ('dead', 'completed')") == 5, Deadline));
        foreach (var id in new[] { wrongShape, array, otherRecord, missingMember })
        {
            var job = await queue.GetJobAsync(id, Ct);
            Assert.Equal(JobState.Dead, job!.State);
            Assert.Equal(1, job.Attempts); // straight to dead: no retry loop
            Assert.StartsWith("payload cannot be deserialized as WorkItem", job.LastError, StringComparison.Ordinal);
        }

        Assert.Equal(JobState.Completed, (await queue.GetJobAsync(good, Ct))!.State);
        Assert.Equal([good], host.Script.Executions.Keys);
    }

    [Fact]
    public async Task A_throwing_handler_fails_the_job_which_is_retried_then_dead_lettered()
    {
        var dataSource = await Db();
        await using var host = WorkerHost.Create(dataSource, "w_throw", o =>
        {
            o.RetryBackoff = TimeSpan.FromMilliseconds(10);
            o.MaxRetryBackoff = TimeSpan.FromMilliseconds(20);
            o.MaxAttempts = 3;
        });
        host.Script.Run = static (job, _) => throw new InvalidOperationException($"handler broke on attempt {job.Attempt}");
        var id = (await host.Queue("w_throw").EnqueueAsync(new WorkItem(1, "t"), cancellationToken: Ct)).JobId;
        await host.StartAsync();

        Assert.True(await TestDatabase.EventuallyAsync(async () => (await host.Queue("w_throw").GetJobAsync(id, Ct))!.State == JobState.Dead, Deadline));
        var job = await host.Queue("w_throw").GetJobAsync(id, Ct);
        Assert.Equal(3, job!.Attempts);
        Assert.Equal("InvalidOperationException: handler broke on attempt 3", job.LastError);
        Assert.Equal(3, host.Script.Executions[id]);
    }

    [Fact]
    public async Task The_heartbeat_extends_the_lease_on_the_injected_clock_while_the_handler_runs()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = WorkerHost.Create(dataSource, "w_heartbeat", o => o.VisibilityTimeout = TimeSpan.FromSeconds(30),
            o => o.HeartbeatInterval = TimeSpan.FromSeconds(10), time: time);
        host.Script.Run = (_, _) => release.Task;
        var id = (await host.Queue("w_heartbeat").EnqueueAsync(new WorkItem(1, "h"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(id)), Deadline));
        var first = await dataSource.ScalarAsync($"SELECT (extract(epoch FROM leased_until) * 1000000)::bigint FROM w_heartbeat WHERE id = {id}");

        time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(await TestDatabase.EventuallyAsync(async () =>
            await dataSource.ScalarAsync($"SELECT (extract(epoch FROM leased_until) * 1000000)::bigint FROM w_heartbeat WHERE id = {id}") > first, Deadline));
        release.SetResult();
        Assert.True(await TestDatabase.EventuallyAsync(async () => (await host.Queue("w_heartbeat").GetJobAsync(id, Ct))!.State == JobState.Completed, Deadline));
    }

    [Fact]
    public async Task A_worker_that_lost_its_lease_cancels_its_handler_and_never_settles_the_job()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // No notifications: nothing may wake the worker to lease the requeued job again before the test parks it.
        await using var host = WorkerHost.Create(dataSource, "w_lost", o =>
            {
                o.VisibilityTimeout = TimeSpan.FromSeconds(30);
                o.Notify = false;
            },
            o => o.HeartbeatInterval = TimeSpan.FromSeconds(10), time: time);
        host.Script.Run = async (_, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                cancelled.TrySetResult();
            }
        };
        var queue = host.Queue("w_lost");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "l"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(id)), Deadline));

        // The reconciler decides the worker is stuck and requeues its job.
        await dataSource.ExecuteAsync($"UPDATE w_lost SET leased_until = now() - interval '1 second' WHERE id = {id}");
        Assert.Equal((1L, 0L), await queue.RequeueStuckAsync(Ct));
        await dataSource.ExecuteAsync($"UPDATE w_lost SET run_at = now() + interval '1 hour' WHERE id = {id}"); // keep it from being taken again

        time.Advance(TimeSpan.FromSeconds(10)); // next heartbeat: refused

        await cancelled.Task.WaitAsync(Deadline, Ct);
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Pending, job!.State);
        Assert.Equal(0, job.Completions);
        Assert.Equal(1, job.Attempts); // the requeue's attempt; the worker did not fail it on top
    }

    [Fact]
    public async Task A_worker_whose_completion_is_rejected_says_so_and_the_job_is_not_completed()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // No notifications, and a clock that never moves (no poll, no heartbeat): nothing may wake the worker to lease the
        // requeued job again before the test parks it. With them, the listener's first LISTEN (which wakes every worker
        // once) could land between the requeue and the parking: the worker leased the job again and completed it.
        await using var host = WorkerHost.Create(dataSource, "w_rejected", o =>
            {
                o.VisibilityTimeout = TimeSpan.FromSeconds(30);
                o.Notify = false;
            },
            o => o.HeartbeatInterval = TimeSpan.FromSeconds(10), time: time, fakeLogging: true);
        host.Script.Run = (_, _) => release.Task; // ignores its token: it finishes after its lease was taken away
        var queue = host.Queue("w_rejected");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "late"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(id)), Deadline));

        await dataSource.ExecuteAsync($"UPDATE w_rejected SET leased_until = now() - interval '1 second' WHERE id = {id}");
        Assert.Equal((1L, 0L), await queue.RequeueStuckAsync(Ct));
        await dataSource.ExecuteAsync($"UPDATE w_rejected SET run_at = now() + interval '1 hour' WHERE id = {id}");
        release.SetResult();

        var logs = host.Services.GetFakeLogCollector();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(logs.GetSnapshot().Any(r => r.Id.Name == "QueueCompletionRejected")), Deadline));
        var record = logs.GetSnapshot().Single(r => r.Id.Name == "QueueCompletionRejected");
        Assert.Equal(301, record.Id.Id);
        Assert.Contains($"job {id}", record.Message, StringComparison.Ordinal);
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Pending, job!.State);
        Assert.Equal(0, job.Completions);
    }

    [Fact]
    public async Task A_lost_and_a_new_lease_of_one_job_flushed_together_complete_it_once_and_the_lost_one_says_so()
    {
        var dataSource = await Db();
        var time = new FakeTimeProvider(); // never advanced: no heartbeat cancels the lost lease's handler, no poll
        var releaseJob = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseOther = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = WorkerHost.Create(dataSource, "w_twice", o => o.VisibilityTimeout = TimeSpan.FromSeconds(30), o =>
        {
            o.HeartbeatInterval = TimeSpan.FromSeconds(10);
            o.Concurrency = 3;
            o.Prefetch = 0;
        }, time: time, fakeLogging: true);
        var worker = (Reconciliation.Queue.Workers.QueueWorker<WorkItem, ScriptedHandler>)Assert.Single(host.Workers);
        var queue = host.Queue("w_twice");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "twice"), cancellationToken: Ct)).JobId;
        host.Script.Run = (job, _) => job.Id == id ? releaseJob.Task : releaseOther.Task; // both ignore their token
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(id)), Deadline));

        // Requeued as stuck while its handler still runs, then leased again by the same worker (woken by another job's
        // notification): the worker holds a lost and a new lease of one job.
        await dataSource.ExecuteAsync($"UPDATE w_twice SET leased_until = now() - interval '1 second' WHERE id = {id}");
        Assert.Equal((1L, 0L), await queue.RequeueStuckAsync(Ct));
        var other = (await queue.EnqueueAsync(new WorkItem(2, "other"), cancellationToken: Ct)).JobId;
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.GetValueOrDefault(id) == 2 && host.Script.Executions.ContainsKey(other)), Deadline));

        // The other job's completion is flushed first and waits on the test's lock of its row; both completions of the job
        // queue up behind it, and go out together in the next flush.
        await using var blocking = await dataSource.OpenConnectionAsync(Ct);
        await using var lockRow = await blocking.BeginTransactionAsync(Ct);
        await using (var select = new NpgsqlCommand($"SELECT id FROM w_twice WHERE id = {other} FOR UPDATE", blocking, lockRow))
        {
            await select.ExecuteScalarAsync(Ct);
        }

        releaseOther.SetResult();
        Assert.True(await TestDatabase.EventuallyAsync(async () => await dataSource.ScalarAsync(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%w_twice%'") == 1, Deadline));
        releaseJob.SetResult();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(worker.QueuedCompletions == 2), Deadline));
        await lockRow.CommitAsync(Ct);

        var logs = host.Services.GetFakeLogCollector();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(logs.GetSnapshot().Any(r => r.Id.Name == "QueueCompletionRejected")), Deadline),
            "the lost lease's completion was rejected without a word");
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(worker.RunningCount == 0), Deadline));
        var rejected = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "QueueCompletionRejected");
        Assert.Contains($"job {id}", rejected.Message, StringComparison.Ordinal);
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Completed, job!.State); // by the new lease
        Assert.Equal(1, job.Completions);
        Assert.Equal(JobState.Completed, (await queue.GetJobAsync(other, Ct))!.State);
    }

    [Fact]
    public async Task A_handler_that_completes_inside_its_own_transaction_writes_its_effect_and_completion_together()
    {
        var dataSource = await Db();
        await dataSource.ExecuteAsync("CREATE TABLE IF NOT EXISTS w_effects (job_id bigint PRIMARY KEY)");
        await using var host = WorkerHost.Create(dataSource, "w_in_tx", fakeLogging: true);
        host.Script.Run = async (job, ct) =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using (var insert = new NpgsqlCommand("INSERT INTO w_effects VALUES (@id)", connection, transaction))
            {
                insert.Parameters.AddWithValue("id", job.Id);
                await insert.ExecuteNonQueryAsync(ct);
            }

            if (await job.CompleteWithinAsync(transaction, ct))
            {
                await transaction.CommitAsync(ct);
            }
        };
        var ids = await host.Queue("w_in_tx").EnqueueManyAsync(Enumerable.Range(0, 20).Select(i => new WorkItem(i, "tx")), Ct);
        await host.StartAsync();

        Assert.True(await TestDatabase.EventuallyAsync(async () => await dataSource.ScalarAsync("SELECT count(*) FROM w_in_tx WHERE state = 'completed'") == 20, Deadline));
        Assert.Equal(20, await dataSource.ScalarAsync("SELECT count(*) FROM w_in_tx WHERE completions = 1"));
        Assert.Equal(20, await dataSource.ScalarAsync($"SELECT count(*) FROM w_effects WHERE job_id BETWEEN {ids[0]} AND {ids[^1]}"));
        Assert.DoesNotContain(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Name == "QueueCompletionRejected");
    }

    [Fact]
    public async Task On_shutdown_workers_stop_taking_jobs_and_let_running_ones_finish()
    {
        var dataSource = await Db();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = WorkerHost.Create(dataSource, "w_graceful");
        host.Script.Run = (_, _) => release.Task;
        var queue = host.Queue("w_graceful");
        var running = (await queue.EnqueueAsync(new WorkItem(1, "g"), cancellationToken: Ct)).JobId;
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.ContainsKey(running)), Deadline));

        var stop = host.StopAsync(CancellationToken.None);
        var later = (await queue.EnqueueAsync(new WorkItem(2, "after stop"), cancellationToken: Ct)).JobId;
        Assert.False(stop.IsCompleted); // waiting for the running job
        release.SetResult();
        await stop.WaitAsync(Deadline, Ct);

        Assert.Equal(JobState.Completed, (await queue.GetJobAsync(running, Ct))!.State);
        Assert.Equal(JobState.Pending, (await queue.GetJobAsync(later, Ct))!.State);
        Assert.False(host.Script.Executions.ContainsKey(later));
    }

    [Fact]
    public async Task When_the_shutdown_timeout_fires_the_leases_of_unfinished_jobs_are_released()
    {
        var dataSource = await Db();
        var never = new TaskCompletionSource();
        await using var host = WorkerHost.Create(dataSource, "w_release", configureWorker: o => o.Concurrency = 2);
        host.Script.Run = (_, _) => never.Task; // ignores its token, as a badly written handler would
        var queue = host.Queue("w_release");
        var ids = await queue.EnqueueManyAsync([new WorkItem(1, "a"), new WorkItem(2, "b")], Ct);
        await host.StartAsync();
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Script.Executions.Count == 2), Deadline));

        using var shutdown = new CancellationTokenSource();
        var stop = host.StopAsync(shutdown.Token);
        await shutdown.CancelAsync();
        await stop.WaitAsync(Deadline, Ct);

        foreach (var id in ids)
        {
            var job = await queue.GetJobAsync(id, Ct);
            Assert.Equal(JobState.Pending, job!.State);
            Assert.Equal(0, job.Attempts); // a release is not the job's fault
        }

        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM w_release WHERE lease_token IS NOT NULL"));
        never.SetResult(); // the handlers finish late: their completions are rejected by the stale token
        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(host.Workers.All(w => ((Reconciliation.Queue.Workers.QueueWorker<WorkItem, ScriptedHandler>)w).RunningCount == 0)), Deadline));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM w_release WHERE state = 'completed'"));
    }
}
