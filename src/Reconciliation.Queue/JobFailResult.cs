namespace Reconciliation.Queue;

/// <summary>The answer of <see cref="IJobQueue.FailAsync"/>.</summary>
public enum JobFailResult
{
    /// <summary>The lease token is stale (the job was requeued meanwhile): nothing was changed.</summary>
    Rejected,

    /// <summary>The job goes back to pending and runs again after its backoff.</summary>
    RetryScheduled,

    /// <summary>The job is out of attempts and was dead-lettered.</summary>
    DeadLettered,
}
