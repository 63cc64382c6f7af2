namespace Reconciliation.Queue.Workers;

/// <summary>
/// Processes the jobs of one queue (<c>AddQueueWorker&lt;THandler, TPayload&gt;("emails")</c>). Resolved from a fresh DI
/// scope per job. Execution is at-least-once: a job whose worker died, or whose lease was lost, runs again, so a handler
/// must be idempotent (see docs/queue.md).
/// </summary>
/// <typeparam name="TPayload">The payload type (System.Text.Json).</typeparam>
public interface IJobHandler<TPayload>
{
    /// <summary>
    /// Handles one job. Return normally to complete it; throw to fail it (retried with backoff, dead-lettered when out of
    /// attempts). <paramref name="cancellationToken"/> fires when the lease is lost or the host's shutdown timeout is reached.
    /// </summary>
    Task HandleAsync(QueueJob<TPayload> job, CancellationToken cancellationToken);
}
