namespace Reconciliation;

/// <summary>Where a violation is in its life.</summary>
public enum ViolationState
{
    /// <summary>The rule breached for its <c>For</c>; a heal may be due (or is held back by the policy).</summary>
    Open,

    /// <summary>A heal ran and the engine is waiting for the violation to close (verification).</summary>
    Healing,

    /// <summary>Every healer's attempts are used up; nothing more is tried until the violation closes.</summary>
    Exhausted,

    /// <summary>The signal crossed back past the rule's <c>Clear</c> level.</summary>
    Closed,
}
