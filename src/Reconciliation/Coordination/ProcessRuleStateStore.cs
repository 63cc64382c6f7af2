namespace Reconciliation;

/// <summary>The default: rule state lives only in the engine's memory, so there is nothing to load or save.</summary>
internal sealed class ProcessRuleStateStore : IRuleStateStore, INeverBlocks
{
    public ValueTask<RuleStateSnapshot> LoadAsync(string replica, CancellationToken cancellationToken) => ValueTask.FromResult(RuleStateSnapshot.Empty);

    public ValueTask SaveAsync(string replica, RuleStateSnapshot state, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
