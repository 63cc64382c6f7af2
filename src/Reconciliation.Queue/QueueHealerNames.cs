namespace Reconciliation.Queue;

/// <summary>The names of the queue healers, as rules list them in <c>Heal</c>.</summary>
public static class QueueHealerNames
{
    /// <summary>Stuck jobs go back to pending (attempts + 1, lease cleared) so another worker takes them; those with no attempts left are dead-lettered.</summary>
    public const string RequeueStuck = "queue.requeue-stuck";

    /// <summary>Jobs over their max attempts (pending with none left, or stuck on their last one) are moved to dead.</summary>
    public const string DeadLetter = "queue.dead-letter";
}
