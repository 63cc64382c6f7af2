using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The queue's API against a real PostgreSQL: leases, tokens, idempotency, transactions, retries, dead letters.</summary>
public sealed class JobQueueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<NpgsqlDataSource> Db() => TestDatabase.GetAsync(nameof(JobQueueTests));

    [Fact]
    public async Task A_job_is_enqueued_leased_and_completed_once()
    {
        var queue = TestQueue.Create(await Db(), "q_basic");
        var enqueued = await queue.EnqueueAsync(new WorkItem(1, "hello"), cancellationToken: Ct);
        Assert.True(enqueued.Created);

        var leases = await queue.DequeueAsync(10, Ct);
        var lease = Assert.Single(leases);
        Assert.Equal(enqueued.JobId, lease.Id);
        Assert.Equal(1, lease.Attempt);
        Assert.Equal(new WorkItem(1, "hello"), lease.Deserialize<WorkItem>());
        Assert.Empty(await queue.DequeueAsync(10, Ct)); // leased: nobody else gets it

        Assert.True(await queue.CompleteAsync(lease, Ct));
        Assert.False(await queue.CompleteAsync(lease, Ct)); // a second completion with the same token is refused too

        var job = await queue.GetJobAsync(lease.Id, Ct);
        Assert.Equal(JobState.Completed, job!.State);
        Assert.Equal(1, job.Completions);
    }

    [Fact]
    public async Task A_completion_with_a_stale_token_is_rejected_and_the_new_holder_completes_once()
    {
        var queue = TestQueue.Create(await Db(), "q_stale", o => o.VisibilityTimeout = TimeSpan.FromMilliseconds(200));
        await queue.EnqueueAsync(new WorkItem(2, "x"), cancellationToken: Ct);
        var first = Assert.Single(await queue.DequeueAsync(1, Ct));

        // The first worker goes silent past its visibility timeout; the healer's action requeues the job.
        Assert.True(await TestDatabase.EventuallyAsync(async () => (await queue.GetStatsAsync(Ct)).Stuck == 1, TimeSpan.FromSeconds(10)));
        var (requeued, dead) = await queue.RequeueStuckAsync(Ct);
        Assert.Equal((1L, 0L), (requeued, dead));
        var second = Assert.Single(await queue.DequeueAsync(1, Ct));
        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(2, second.Attempt);

        // The first worker wakes up: every settling call with its token says no.
        Assert.False(await queue.CompleteAsync(first, Ct));
        Assert.False(await queue.HeartbeatAsync(first, Ct));
        Assert.Equal(JobFailResult.Rejected, await queue.FailAsync(first, "late failure", Ct));
        Assert.False(await queue.ReleaseAsync(first, Ct));

        Assert.True(await queue.CompleteAsync(second, Ct));
        var job = await queue.GetJobAsync(first.Id, Ct);
        Assert.Equal(JobState.Completed, job!.State);
        Assert.Equal(1, job.Completions);
        Assert.Equal(1, job.Attempts);
    }

    [Fact]
    public async Task The_idempotency_key_yields_one_job_for_two_enqueues()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_idem");
        var options = new JobOptions { IdempotencyKey = "order-42" };
        var first = await queue.EnqueueAsync(new WorkItem(42, "a"), options, Ct);
        var second = await queue.EnqueueAsync(new WorkItem(42, "b"), options, Ct);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.JobId, second.JobId);
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM q_idem WHERE idempotency_key = 'order-42'"));
        Assert.Equal(new WorkItem(42, "a"), (await queue.DequeueAsync(1, Ct))[0].Deserialize<WorkItem>());
    }

    [Fact]
    public async Task Concurrent_enqueues_with_one_idempotency_key_create_one_job()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_idem_race");
        await queue.MigrateAsync(Ct);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            queue.EnqueueAsync(new WorkItem(i, "race"), new JobOptions { IdempotencyKey = "same" }, Ct)));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.JobId).Distinct());
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM q_idem_race"));
    }

    [Fact]
    public async Task A_job_enqueued_in_a_rolled_back_transaction_never_runs_and_a_committed_one_does()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_tx");
        await queue.MigrateAsync(Ct);
        await dataSource.ExecuteAsync("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)");

        await using (var connection = await dataSource.OpenConnectionAsync(Ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            await using (var insert = new NpgsqlCommand("INSERT INTO orders VALUES (1)", connection, transaction))
            {
                await insert.ExecuteNonQueryAsync(Ct);
            }

            var rolledBack = await queue.EnqueueAsync(transaction, new WorkItem(1, "rolled back"), cancellationToken: Ct);
            Assert.True(rolledBack.Created);
            await transaction.RollbackAsync(Ct);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(Ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            await using (var insert = new NpgsqlCommand("INSERT INTO orders VALUES (2)", connection, transaction))
            {
                await insert.ExecuteNonQueryAsync(Ct);
            }

            await queue.EnqueueAsync(transaction, new WorkItem(2, "committed"), cancellationToken: Ct);
            Assert.Empty(await queue.DequeueAsync(10, Ct)); // not visible before the commit
            await transaction.CommitAsync(Ct);
        }

        var leases = await queue.DequeueAsync(10, Ct);
        var lease = Assert.Single(leases);
        Assert.Equal(2, lease.Deserialize<WorkItem>().Number);
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM orders WHERE id = 1"));
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM q_tx"));
    }

    [Fact]
    public async Task A_delayed_job_is_not_leased_before_its_run_at()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_delay");
        var delayed = await queue.EnqueueAsync(new WorkItem(1, "later"), new JobOptions { Delay = TimeSpan.FromHours(1) }, Ct);
        var now = await queue.EnqueueAsync(new WorkItem(2, "now"), cancellationToken: Ct);

        var lease = Assert.Single(await queue.DequeueAsync(10, Ct));
        Assert.Equal(now.JobId, lease.Id);
        Assert.Equal(1, (await queue.GetStatsAsync(Ct)).Depth); // the delayed one still counts as pending
        var seconds = await dataSource.ScalarAsync($"SELECT round(extract(epoch FROM run_at - enqueued_at)) FROM q_delay WHERE id = {delayed.JobId}");
        Assert.Equal(3600, seconds);
    }

    [Fact]
    public async Task Batch_dequeues_from_concurrent_workers_never_share_a_job()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_batch");
        await queue.EnqueueManyAsync(Enumerable.Range(0, 200).Select(i => new WorkItem(i, "b")), Ct);

        var batches = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => queue.DequeueAsync(30, Ct)));
        var ids = batches.SelectMany(b => b.Select(l => l.Id)).ToList();

        Assert.All(batches, b => Assert.InRange(b.Count, 0, 30));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(Math.Min(200, 8 * 30), ids.Count);
        Assert.Equal(ids.Count, await dataSource.ScalarAsync("SELECT count(*) FROM q_batch WHERE state = 'running'"));
    }

    [Fact]
    public async Task A_failed_job_is_retried_with_backoff_on_the_database_clock_then_dead_lettered_and_requeueable()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_fail", o =>
        {
            o.RetryBackoff = TimeSpan.FromSeconds(10);
            o.MaxRetryBackoff = TimeSpan.FromSeconds(15);
            o.RetryJitter = 0; // exact delays here; spread is tested on its own
        });
        var id = (await queue.EnqueueAsync(new WorkItem(1, "fails"), new JobOptions { MaxAttempts = 3 }, Ct)).JobId;

        // Attempt 1 fails: run_at = now() + 10 s.
        Assert.Equal(JobFailResult.RetryScheduled, await queue.FailAsync((await queue.DequeueAsync(1, Ct))[0], "boom 1", Ct));
        Assert.InRange(await dataSource.ScalarAsync($"SELECT round(extract(epoch FROM run_at - now())) FROM q_fail WHERE id = {id}"), 9, 10);
        Assert.Empty(await queue.DequeueAsync(1, Ct));

        // Attempt 2 fails: the backoff doubles to 20 s, capped at 15 s.
        await dataSource.ExecuteAsync($"UPDATE q_fail SET run_at = now() WHERE id = {id}");
        Assert.Equal(JobFailResult.RetryScheduled, await queue.FailAsync((await queue.DequeueAsync(1, Ct))[0], "boom 2", Ct));
        Assert.InRange(await dataSource.ScalarAsync($"SELECT round(extract(epoch FROM run_at - now())) FROM q_fail WHERE id = {id}"), 14, 15);

        // Attempt 3 of 3 fails: dead, kept, with the reason.
        await dataSource.ExecuteAsync($"UPDATE q_fail SET run_at = now() WHERE id = {id}");
        var last = (await queue.DequeueAsync(1, Ct))[0];
        Assert.Equal(3, last.Attempt);
        Assert.Equal(JobFailResult.DeadLettered, await queue.FailAsync(last, "boom 3", Ct));
        var dead = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Dead, dead!.State);
        Assert.Equal("boom 3", dead.LastError);
        Assert.Equal(1, (await queue.GetStatsAsync(Ct)).Dead);
        Assert.Empty(await queue.DequeueAsync(1, Ct));

        // Requeued by an API call: attempts reset, runs again.
        Assert.True(await queue.RequeueDeadAsync(id, Ct));
        Assert.False(await queue.RequeueDeadAsync(id, Ct));
        var again = Assert.Single(await queue.DequeueAsync(1, Ct));
        Assert.Equal(1, again.Attempt);
        Assert.True(await queue.CompleteAsync(again, Ct));
    }

    [Fact]
    public async Task Released_jobs_go_back_without_an_attempt_counted()
    {
        var queue = TestQueue.Create(await Db(), "q_release");
        await queue.EnqueueAsync(new WorkItem(1, "r"), cancellationToken: Ct);
        var lease = (await queue.DequeueAsync(1, Ct))[0];
        Assert.True(await queue.ReleaseAsync(lease, Ct));
        var again = Assert.Single(await queue.DequeueAsync(1, Ct));
        Assert.Equal(1, again.Attempt);
        Assert.False(await queue.CompleteAsync(lease, Ct));
        Assert.True(await queue.CompleteAsync(again, Ct));
    }

    [Fact]
    public async Task A_completion_inside_the_handlers_transaction_commits_or_rolls_back_with_it()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_complete_tx");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "tx"), cancellationToken: Ct)).JobId;
        var lease = (await queue.DequeueAsync(1, Ct))[0];

        await using (var connection = await dataSource.OpenConnectionAsync(Ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            Assert.True(await queue.CompleteAsync(lease, transaction, Ct));
            await transaction.RollbackAsync(Ct);
        }

        Assert.Equal(JobState.Running, (await queue.GetJobAsync(id, Ct))!.State);

        await using (var connection = await dataSource.OpenConnectionAsync(Ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            Assert.True(await queue.CompleteAsync(lease, transaction, Ct));
            await transaction.CommitAsync(Ct);
        }

        Assert.Equal(JobState.Completed, (await queue.GetJobAsync(id, Ct))!.State);
    }

    [Fact]
    public async Task Stats_report_depth_age_stuck_and_dead()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_stats", o => o.VisibilityTimeout = TimeSpan.FromMinutes(5));
        Assert.Equal(new QueueStats(0, 0, 0, 0), await queue.GetStatsAsync(Ct));

        await queue.EnqueueManyAsync(Enumerable.Range(0, 5).Select(i => new WorkItem(i, "s")), Ct);
        var leases = await queue.DequeueAsync(3, Ct);
        await dataSource.ExecuteAsync("UPDATE q_stats SET enqueued_at = now() - interval '2 minutes', run_at = now() - interval '2 minutes' WHERE state = 'pending'");
        // Two leased jobs: one leased past its timeout, one whose lease lasts but which is dead.
        await dataSource.ExecuteAsync($"UPDATE q_stats SET leased_until = now() - interval '1 second' WHERE id = {leases[0].Id}");
        await dataSource.ExecuteAsync($"UPDATE q_stats SET state = 'dead', lease_token = NULL WHERE id = {leases[1].Id}");

        var stats = await queue.GetStatsAsync(Ct);
        Assert.Equal(2, stats.Depth);
        Assert.InRange(stats.OldestPendingAge, 119, 130);
        Assert.Equal(1, stats.Stuck);
        Assert.Equal(1, stats.Dead);
    }

    [Fact]
    public async Task A_worker_that_stopped_heartbeating_counts_as_stuck_before_its_lease_expires()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_heartbeat", o =>
        {
            o.VisibilityTimeout = TimeSpan.FromMinutes(5);
            o.HeartbeatTimeout = TimeSpan.FromSeconds(30);
        });
        await queue.EnqueueAsync(new WorkItem(1, "h"), cancellationToken: Ct);
        var lease = (await queue.DequeueAsync(1, Ct))[0];
        Assert.Equal(0, (await queue.GetStatsAsync(Ct)).Stuck);

        await dataSource.ExecuteAsync($"UPDATE q_heartbeat SET heartbeat_at = now() - interval '31 seconds' WHERE id = {lease.Id}");
        Assert.Equal(1, (await queue.GetStatsAsync(Ct)).Stuck);

        Assert.True(await queue.HeartbeatAsync(lease, Ct)); // a heartbeat makes it healthy again
        Assert.Equal(0, (await queue.GetStatsAsync(Ct)).Stuck);
    }

    [Fact]
    public async Task A_stuck_job_on_its_last_attempt_is_dead_lettered_not_requeued()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_stuck_last");
        var id = (await queue.EnqueueAsync(new WorkItem(1, "s"), new JobOptions { MaxAttempts = 1 }, Ct)).JobId;
        var lease = (await queue.DequeueAsync(1, Ct))[0];
        await dataSource.ExecuteAsync($"UPDATE q_stuck_last SET leased_until = now() - interval '1 second' WHERE id = {lease.Id}");

        Assert.Equal((0L, 1L), await queue.RequeueStuckAsync(Ct));
        var job = await queue.GetJobAsync(id, Ct);
        Assert.Equal(JobState.Dead, job!.State);
        Assert.Contains("lease lost", job.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letter_moves_jobs_over_their_max_attempts_and_nothing_else()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_exhausted");
        var ids = await queue.EnqueueManyAsync(Enumerable.Range(0, 3).Select(i => new WorkItem(i, "e")), Ct);
        // Job 0: pending with no attempts left (e.g. max attempts lowered by hand). Job 1: healthy. Job 2: stuck on its last attempt.
        await dataSource.ExecuteAsync($"UPDATE q_exhausted SET attempts = 5, max_attempts = 5 WHERE id = {ids[0]}");
        await dataSource.ExecuteAsync($"UPDATE q_exhausted SET state = 'running', attempts = 4, lease_token = gen_random_uuid(), leased_until = now() - interval '1 second' WHERE id = {ids[2]}");
        Assert.Equal(2, (await queue.GetStatsAsync(Ct)).Stuck);

        Assert.Equal(2, await queue.DeadLetterExhaustedAsync(Ct));
        Assert.Equal(JobState.Dead, (await queue.GetJobAsync(ids[0], Ct))!.State);
        Assert.Equal(JobState.Pending, (await queue.GetJobAsync(ids[1], Ct))!.State);
        var stuck = await queue.GetJobAsync(ids[2], Ct);
        Assert.Equal(JobState.Dead, stuck!.State);
        Assert.Equal(5, stuck.Attempts);
        Assert.Equal(0, await queue.DeadLetterExhaustedAsync(Ct));
    }

    [Fact]
    public async Task Retention_purges_old_completed_jobs_in_bounded_batches_and_never_dead_ones()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_purge", o => o.BatchSize = 100);
        await queue.EnqueueManyAsync(Enumerable.Range(0, 1050).Select(i => new WorkItem(i, "p")), Ct);
        await dataSource.ExecuteAsync("UPDATE q_purge SET state = 'completed', completed_at = now() - interval '2 days' WHERE id % 10 <> 0");
        await dataSource.ExecuteAsync("UPDATE q_purge SET state = 'dead', dead_at = now() - interval '30 days' WHERE id % 10 = 0 AND id % 20 = 0");
        await dataSource.ExecuteAsync("UPDATE q_purge SET state = 'completed', completed_at = now() WHERE id % 10 = 0 AND id % 20 <> 0");
        var oldCompleted = await dataSource.ScalarAsync("SELECT count(*) FROM q_purge WHERE state = 'completed' AND completed_at < now() - interval '1 day'");

        var purged = await queue.PurgeCompletedAsync(TimeSpan.FromDays(1), Ct);

        Assert.Equal(oldCompleted, purged);
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM q_purge WHERE state = 'completed' AND completed_at < now() - interval '1 day'"));
        Assert.True(await dataSource.ScalarAsync("SELECT count(*) FROM q_purge WHERE state = 'dead'") > 0);
        Assert.True(await dataSource.ScalarAsync("SELECT count(*) FROM q_purge WHERE state = 'completed'") > 0);
    }

    [Fact]
    public async Task Dequeue_uses_the_partial_pending_index_when_completed_rows_pile_up()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_index");
        await queue.MigrateAsync(Ct);
        await dataSource.ExecuteAsync("""
            INSERT INTO q_index (kind, payload, max_attempts, state, completed_at, completions)
            SELECT 'k', '{}'::jsonb, 5, 'completed', now(), 1 FROM generate_series(1, 50000);
            INSERT INTO q_index (kind, payload, max_attempts) SELECT 'k', '{}'::jsonb, 5 FROM generate_series(1, 10);
            ANALYZE q_index;
            """);
        await using var command = dataSource.CreateCommand(
            "EXPLAIN SELECT id FROM q_index WHERE state = 'pending' AND run_at <= now() AND attempts < max_attempts AND kind = ANY('{k}') ORDER BY priority, run_at, id LIMIT 8 FOR UPDATE SKIP LOCKED");
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.Contains(plan, line => line.Contains("q_index_pending", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_migration_is_idempotent_and_safe_to_run_concurrently()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "q_migrate");
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => queue.MigrateAsync(Ct)));
        await queue.MigrateAsync(Ct);
        Assert.Equal(6, await dataSource.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'q_migrate'"));
    }

    [Fact]
    public async Task A_table_in_another_schema_is_created_there()
    {
        var dataSource = await Db();
        var queue = TestQueue.Create(dataSource, "emails", o =>
        {
            o.Schema = "jobs_schema";
            o.TableName = "email_jobs";
        });
        await queue.EnqueueAsync(new WorkItem(1, "s"), cancellationToken: Ct);
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM jobs_schema.email_jobs"));
        Assert.Equal("jobs_schema.email_jobs", queue.Table);
    }
}
