namespace Reconciliation;

/// <summary>How much a rule's healers may do on their own (per rule, per healer, or for every rule).</summary>
public enum ApprovalMode
{
    /// <summary>Heal on its own under the heal policy (the default).</summary>
    Auto = 0,

    /// <summary>Publish a <see cref="HealProposal"/> and heal only after an operator approves it.</summary>
    Propose = 1,

    /// <summary>Detect and report only; never heal.</summary>
    Off = 2,
}
