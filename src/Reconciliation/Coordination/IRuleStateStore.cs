namespace Reconciliation;

/// <summary>
/// Where a replica keeps its rule state (open violations, their heal progress, <c>For</c> timers, the budget pause), so
/// that after a restart it resumes the same episode instead of starting a fresh one. Each replica (named by
/// <see cref="ReconciliationOptions.ReplicaId"/>) owns its own state; limits shared by the fleet come from the heal
/// journal. By default the state lives only in the engine's memory; the PostgreSQL and Redis coordination stores keep it.
/// </summary>
public interface IRuleStateStore
{
    /// <summary>The state <paramref name="replica"/> saved last, or an empty one.</summary>
    ValueTask<RuleStateSnapshot> LoadAsync(string replica, CancellationToken cancellationToken);

    /// <summary>Replaces the saved state of <paramref name="replica"/> (the engine saves only when it changed).</summary>
    ValueTask SaveAsync(string replica, RuleStateSnapshot state, CancellationToken cancellationToken);
}
