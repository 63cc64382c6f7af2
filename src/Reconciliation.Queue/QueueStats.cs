namespace Reconciliation.Queue;

/// <summary>A queue's numbers, read in one round trip (what the probe reports).</summary>
/// <param name="Depth">Pending jobs (due or delayed).</param>
/// <param name="OldestPendingAge">Seconds the oldest due pending job has been waiting past its <c>run_at</c>; 0 when none is due.</param>
/// <param name="Stuck">Running jobs whose lease expired or whose worker stopped heartbeating, plus pending jobs that are out of attempts.</param>
/// <param name="Dead">Dead-lettered jobs.</param>
public readonly record struct QueueStats(long Depth, double OldestPendingAge, long Stuck, long Dead);
