namespace Reconciliation;

/// <summary>How a heal attempt ended.</summary>
public enum HealOutcomeKind
{
    /// <summary>The action was carried out; the engine verifies that the violation closes.</summary>
    Healed,

    /// <summary>The action failed (or the violation did not close in time): counts against the policy.</summary>
    Failed,

    /// <summary>Nothing was done, for a stated reason (nothing to act on, not opted in, lease held elsewhere).</summary>
    Skipped,

    /// <summary>Dry-run: the plan was logged and reported; nothing was done.</summary>
    DryRun,
}
