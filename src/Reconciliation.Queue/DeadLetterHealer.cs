using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// <c>queue.dead-letter</c>: jobs over their max attempts (pending with none left, or stuck on their last one) move to
/// dead, where they are kept and can be requeued by an API call. Nothing is deleted, so it is not destructive.
/// </summary>
internal sealed class DeadLetterHealer(PostgresJobQueue queue, ILogger logger) : IHealer
{
    public string Name => QueueHealerNames.DeadLetter;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.SharedResource;

    public bool AppliesTo(string resource) => string.Equals(resource, queue.Name, StringComparison.Ordinal);

    public string DescribePlan(HealContext context) => $"dead-letter the jobs of queue {queue.Name} that are over their max attempts";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        var count = await queue.DeadLetterExhaustedAsync(cancellationToken).ConfigureAwait(false);
        if (count == 0)
        {
            return HealOutcome.Skipped("no job is over its max attempts");
        }

        Log.ExhaustedDeadLettered(logger, queue.Name, count);
        return HealOutcome.Healed($"dead-lettered {count} job(s)");
    }
}
