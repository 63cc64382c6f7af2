namespace Reconciliation.Queue;

/// <summary>Per-job options of an enqueue.</summary>
public sealed class JobOptions
{
    /// <summary>
    /// A key that makes the enqueue idempotent: while a job with this key exists in the table, enqueueing the same key
    /// again creates nothing and returns the existing job's id. Default: none.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Run no earlier than this long after the enqueue, on the database clock. Default: at once.</summary>
    public TimeSpan? Delay { get; set; }

    /// <summary>Attempts before this job is dead-lettered. Default: the queue's <see cref="PostgresQueueOptions.MaxAttempts"/>.</summary>
    public int? MaxAttempts { get; set; }
}
