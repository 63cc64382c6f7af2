namespace Reconciliation.Queue;

/// <summary>Where a job is in its lifecycle (the <c>state</c> column).</summary>
public enum JobState
{
    /// <summary>Waiting for a worker (possibly not before its <c>run_at</c>).</summary>
    Pending,

    /// <summary>Leased by a worker, which holds its lease token.</summary>
    Running,

    /// <summary>Completed by the worker that held its lease. Final (until purged by retention).</summary>
    Completed,

    /// <summary>Dead-lettered: out of attempts, or its payload could not be read. Kept, never purged; requeueable.</summary>
    Dead,

    /// <summary>Cancelled (<see cref="IJobQueue.CancelAsync"/>) while pending or running. Final; purged with completed jobs.</summary>
    Cancelled,
}
