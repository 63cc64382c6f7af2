namespace Reconciliation;

/// <summary>
/// How a heal attempt ended. There is no member with the value 0: a <c>default(HealOutcome)</c> returned by a healer
/// has an undefined kind, and the engine counts it as <see cref="Failed"/>, never as a success.
/// </summary>
public enum HealOutcomeKind
{
    /// <summary>The action was carried out; the engine verifies that the violation closes.</summary>
    Healed = 1,

    /// <summary>The action failed (or the violation did not close in time): counts against the policy.</summary>
    Failed = 2,

    /// <summary>
    /// Nothing was done, for a stated reason (nothing to act on, lease held elsewhere). A healer that answers this
    /// three times in a row while its violation stays open is passed over for the rule's next healer.
    /// </summary>
    Skipped = 3,

    /// <summary>Dry-run: the plan was logged and reported; nothing was done.</summary>
    DryRun = 4,

    /// <summary>Journal only (never a healer's answer): the heal was proposed for approval (<see cref="ApprovalMode.Propose"/>).</summary>
    Proposed = 5,

    /// <summary>Journal only: an operator approved the proposal (the record's reason says who).</summary>
    Approved = 6,

    /// <summary>Journal only: an operator rejected the proposal (the record's reason says who).</summary>
    Rejected = 7,

    /// <summary>Journal only: nobody decided on the proposal before it expired.</summary>
    Expired = 8,
}
