namespace Reconciliation.Queue;

/// <summary>One job's row, for admin pages and tests.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="State">Where the job is in its lifecycle.</param>
/// <param name="Attempts">Failed attempts so far (failures, lost leases, and releases past the free ones).</param>
/// <param name="MaxAttempts">Attempts before the job is dead-lettered.</param>
/// <param name="Completions">How many times the job was completed: 0 or 1 (the table's own witness of exactly-once completion).</param>
/// <param name="LastError">Why the last attempt failed, or why the job is dead or cancelled.</param>
/// <param name="IdempotencyKey">The job's idempotency key, if any.</param>
/// <param name="Payload">The payload as stored (JSON).</param>
public sealed record JobInfo(long Id, JobState State, int Attempts, int MaxAttempts, int Completions, string? LastError, string? IdempotencyKey, string Payload)
{
    /// <summary>The job's kind.</summary>
    public string Kind { get; init; } = string.Empty;

    /// <summary>The job's priority (lower runs first).</summary>
    public short Priority { get; init; }

    /// <summary>How many times a worker released the job at shutdown.</summary>
    public int Releases { get; init; }

    /// <summary>The newest errors, oldest first (bounded by <see cref="PostgresQueueOptions.ErrorHistory"/>; each scrubbed of secrets).</summary>
    public IReadOnlyList<JobError> Errors { get; init; } = [];
}

/// <summary>One stored error of a job.</summary>
/// <param name="Attempt">The attempt it ended.</param>
/// <param name="At">When (database clock).</param>
/// <param name="Error">What happened, scrubbed of secrets.</param>
public sealed record JobError(int Attempt, DateTimeOffset At, string Error);
