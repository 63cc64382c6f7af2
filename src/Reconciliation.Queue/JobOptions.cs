namespace Reconciliation.Queue;

/// <summary>Per-job options of an enqueue.</summary>
public sealed class JobOptions
{
    /// <summary>
    /// A key that makes the enqueue idempotent: while a job with this key is pending, running or completed (and, with
    /// <see cref="UniqueFor"/>, within that period of its enqueue), enqueueing the same key again creates nothing and
    /// returns the existing job's id. A dead or cancelled job frees its key. Default: none.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>
    /// How long after its enqueue the <see cref="IdempotencyKey"/> holds (on the database clock); after it, an enqueue
    /// with the same key creates a new job. Default <see langword="null"/>: for as long as the job is pending, running
    /// or completed (until a retention purge).
    /// </summary>
    public TimeSpan? UniqueFor { get; set; }

    /// <summary>Run no earlier than this long after the enqueue, on the database clock. Default: at once.</summary>
    public TimeSpan? Delay { get; set; }

    /// <summary>Run no earlier than this time (a scheduled job). Not together with <see cref="Delay"/>. Default: at once.</summary>
    public DateTimeOffset? RunAt { get; set; }

    /// <summary>Attempts before this job is dead-lettered. Default: the queue's <see cref="PostgresQueueOptions.MaxAttempts"/>.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>The job's priority: lower runs first among due jobs (-1000..1000). Default 0.</summary>
    public short Priority { get; set; }

    /// <summary>
    /// The job's kind, which routes it to the worker of that payload type. Default: the payload type's
    /// <see cref="JobKindAttribute"/>, else its full name. Set it only to write a job for another type's worker.
    /// </summary>
    public string? Kind { get; set; }

    /// <summary>The smallest allowed <see cref="Priority"/>.</summary>
    public const short MinPriority = -1000;

    /// <summary>The largest allowed <see cref="Priority"/>.</summary>
    public const short MaxPriority = 1000;
}
