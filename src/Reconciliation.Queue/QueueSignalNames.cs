namespace Reconciliation.Queue;

/// <summary>The signals the queue probe writes, one set per queue (the queue's name is the resource).</summary>
public static class QueueSignalNames
{
    /// <summary>Pending jobs (due or delayed), a count.</summary>
    public const string Depth = "queue.depth";

    /// <summary>Seconds the oldest due pending job has waited past its <c>run_at</c>; 0 when nothing is due.</summary>
    public const string OldestPendingAge = "queue.oldest_pending.age";

    /// <summary>Jobs that will not make progress on their own: leased past the visibility timeout, whose worker stopped heartbeating, or pending with no attempts left.</summary>
    public const string Stuck = "queue.stuck";

    /// <summary>Dead-lettered jobs, a count.</summary>
    public const string Dead = "queue.dead";
}
