using System.Diagnostics.CodeAnalysis;
using Npgsql;

namespace Reconciliation.Queue;

/// <summary>
/// A job queue in a PostgreSQL table. Jobs are leased with <c>FOR UPDATE SKIP LOCKED</c>; every settling call
/// (complete, fail, heartbeat, release) is made with the lease and answers whether the lease was still held.
/// A caller must check those answers: a <see langword="false"/> means the job was requeued meanwhile and someone else owns it.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a job queue; the name says what it is.")]
public interface IJobQueue
{
    /// <summary>The queue's name (the reconciliation resource its probe and healers act on).</summary>
    string Name { get; }

    /// <summary>
    /// Makes sure the table is in place: reads its schema version (the table's comment) without taking any lock on it,
    /// and only when it is missing creates it under an advisory lock. An existing table of the same name that is not a
    /// queue table is refused with an error naming its missing columns. Idempotent; safe from several replicas at once.
    /// </summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Enqueues a job with its own connection.</summary>
    Task<EnqueueResult> EnqueueAsync<T>(T payload, JobOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Enqueues a job inside the caller's transaction: the job exists if and only if the transaction commits, so a job
    /// and the business row it is about are written together.
    /// </summary>
    Task<EnqueueResult> EnqueueAsync<T>(NpgsqlTransaction transaction, T payload, JobOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Enqueues many jobs in one statement (no idempotency keys). Returns their ids.</summary>
    Task<IReadOnlyList<long>> EnqueueManyAsync<T>(IEnumerable<T> payloads, CancellationToken cancellationToken = default);

    /// <summary>
    /// Enqueues many jobs in one statement, all with <paramref name="options"/> (priority, run time, max attempts, kind;
    /// an idempotency key is refused). Returns their ids in order.
    /// </summary>
    Task<IReadOnlyList<long>> EnqueueManyAsync<T>(IEnumerable<T> payloads, JobOptions? options, CancellationToken cancellationToken = default);

    /// <summary>Enqueues many jobs in one statement inside the caller's transaction: they exist if and only if it commits.</summary>
    Task<IReadOnlyList<long>> EnqueueManyAsync<T>(NpgsqlTransaction transaction, IEnumerable<T> payloads, JobOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Leases up to <paramref name="maxJobs"/> due jobs for the visibility timeout. Empty when none is due.</summary>
    Task<IReadOnlyList<JobLease>> DequeueAsync(int maxJobs = 1, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease by the visibility timeout. False: the lease was lost (the job was requeued); stop working on it.</summary>
    Task<bool> HeartbeatAsync(JobLease lease, CancellationToken cancellationToken = default);

    /// <summary>Completes the job. False: the lease token is stale, the job was requeued and was NOT completed by this call.</summary>
    Task<bool> CompleteAsync(JobLease lease, CancellationToken cancellationToken = default);

    /// <summary>Completes many jobs in one statement. Returns the ids completed; a missing id's lease was stale (not completed by this call).</summary>
    Task<IReadOnlyList<long>> CompleteManyAsync(IReadOnlyList<JobLease> leases, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a pending or running job: it moves to <see cref="JobState.Cancelled"/> and never runs (again). A running
    /// job's lease is revoked: its worker's handler is cancelled (at once when notifications are on, else at its next
    /// heartbeat) and its completion is refused. False: no pending or running job has that id.
    /// </summary>
    Task<bool> CancelAsync(long jobId, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes the job inside the caller's transaction, so the handler's writes and the completion commit together.
    /// False: the lease is stale; roll the transaction back.
    /// </summary>
    Task<bool> CompleteAsync(JobLease lease, NpgsqlTransaction transaction, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt: the job is retried after a backoff, or dead-lettered when out of attempts.</summary>
    Task<JobFailResult> FailAsync(JobLease lease, string reason, CancellationToken cancellationToken = default);

    /// <summary>Dead-letters the job at once with <paramref name="reason"/> (a payload that can never be processed). False: the lease is stale.</summary>
    Task<bool> DeadLetterAsync(JobLease lease, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives the job back to the queue at once (a worker shutting down); the first <see cref="PostgresQueueOptions.FreeReleases"/>
    /// releases of a job count no attempt, later ones do. False: the lease is stale.
    /// </summary>
    Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken = default);

    /// <summary>Moves a dead job back to pending with its attempts reset. False: no dead job has that id.</summary>
    Task<bool> RequeueDeadAsync(long jobId, CancellationToken cancellationToken = default);

    /// <summary>Moves every dead job back to pending with its attempts reset. Returns how many.</summary>
    Task<long> RequeueAllDeadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Requeues stuck jobs (leased past the visibility timeout or not heartbeated within the heartbeat timeout): attempts + 1,
    /// lease cleared; those with no attempts left are dead-lettered instead. What the <c>queue.requeue-stuck</c> healer runs.
    /// </summary>
    Task<(long Requeued, long DeadLettered)> RequeueStuckAsync(CancellationToken cancellationToken = default);

    /// <summary>As <see cref="RequeueStuckAsync(CancellationToken)"/>, touching at most <paramref name="maxJobs"/> jobs.</summary>
    Task<(long Requeued, long DeadLettered)> RequeueStuckAsync(int maxJobs, CancellationToken cancellationToken = default);

    /// <summary>Dead-letters jobs over their max attempts (pending with none left, or stuck on their last). What <c>queue.dead-letter</c> runs.</summary>
    Task<long> DeadLetterExhaustedAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes completed jobs older than the retention, in bounded batches. Returns how many. Dead jobs are never purged.</summary>
    Task<long> PurgeCompletedAsync(TimeSpan olderThan, CancellationToken cancellationToken = default);

    /// <summary>Reads depth, oldest pending age, stuck and dead in one round trip.</summary>
    Task<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads one job, or <see langword="null"/>.</summary>
    Task<JobInfo?> GetJobAsync(long jobId, CancellationToken cancellationToken = default);
}
