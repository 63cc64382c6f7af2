namespace Reconciliation.Queue;

/// <summary>One job's row, for admin pages and tests.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="State">Where the job is in its lifecycle.</param>
/// <param name="Attempts">Failed attempts so far (failures and lost leases).</param>
/// <param name="MaxAttempts">Attempts before the job is dead-lettered.</param>
/// <param name="Completions">How many times the job was completed: 0 or 1 (the table's own witness of exactly-once completion).</param>
/// <param name="LastError">Why the last attempt failed, or why the job is dead.</param>
/// <param name="IdempotencyKey">The job's idempotency key, if any.</param>
/// <param name="Payload">The payload as stored (JSON).</param>
public sealed record JobInfo(long Id, JobState State, int Attempts, int MaxAttempts, int Completions, string? LastError, string? IdempotencyKey, string Payload);
