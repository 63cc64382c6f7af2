using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// <c>queue.requeue-stuck</c>: stuck jobs (leased past the visibility timeout, or not heartbeated within the heartbeat
/// timeout) go back to pending with attempts + 1 and their lease cleared, so another worker takes them; a job with no
/// attempts left is dead-lettered instead of looping. Not destructive: the old holder's token stops working, so it can
/// no longer complete the job, and the job runs again (at-least-once). The built-in rescue does the same on its own; this healer
/// forces it now, touching at most the policy's <c>MaxTargets</c> jobs.
/// </summary>
internal sealed class RequeueStuckHealer(PostgresJobQueue queue, ILogger logger) : IHealer
{
    public string Name => QueueHealerNames.RequeueStuck;

    public bool IsDestructive => false;

    // Every replica sees the same table: one replica at a time acts on it.
    public HealScope Scope => HealScope.SharedResource;

    public bool AppliesTo(string resource) => string.Equals(resource, queue.Name, StringComparison.Ordinal);

    public string DescribePlan(HealContext context) =>
        $"requeue the stuck jobs of queue {queue.Name} (attempts + 1, lease cleared; dead-letter those with no attempts left)";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cap = context.MaxTargets ?? int.MaxValue;
        var (requeued, dead) = await queue.RequeueStuckAsync(cap, cancellationToken).ConfigureAwait(false);
        if (requeued + dead == 0)
        {
            return HealOutcome.Skipped("no stuck job found (they were completed or requeued meanwhile)");
        }

        Log.StuckRequeued(logger, queue.Name, requeued, dead);
        var bound = requeued + dead >= cap ? $" (capped at MaxTargets = {cap}; more stuck jobs may remain for the next heal)" : string.Empty;
        return HealOutcome.Healed($"requeued {requeued} stuck job(s), dead-lettered {dead}{bound}");
    }
}
