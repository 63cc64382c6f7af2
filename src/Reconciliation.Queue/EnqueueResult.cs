namespace Reconciliation.Queue;

/// <summary>The answer of an enqueue.</summary>
/// <param name="JobId">The job's id: the new job's, or the existing one's when the idempotency key was already taken.</param>
/// <param name="Created">False when the idempotency key absorbed the enqueue (no new job was created).</param>
public readonly record struct EnqueueResult(long JobId, bool Created);
