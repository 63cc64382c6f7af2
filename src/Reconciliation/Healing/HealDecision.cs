namespace Reconciliation;

/// <summary>What the planner decided for one open violation on this tick.</summary>
internal enum HealDecisionKind
{
    /// <summary>Nothing stops this violation from being healed; go on to choose its healer.</summary>
    Proceed,

    /// <summary>Heal now with the current healer.</summary>
    Run,

    /// <summary>Not now; <see cref="HealDecision.Reason"/> says why.</summary>
    HoldBack,

    /// <summary>The current healer cannot or may not act any more on this violation: move to the rule's next healer.</summary>
    Escalate,

    /// <summary>No healer is left: the violation stays open and reported, and is not retried.</summary>
    Exhaust,

    /// <summary>The last heal's verification period ended with the violation still open: the heal failed.</summary>
    FailVerification,
}

/// <summary>Why the planner held a violation back, escalated or exhausted it (formatted by <see cref="HealReasons"/>).</summary>
internal enum HealReason
{
    None,
    Exhausted,
    Verifying,
    NoHealers,
    WarmingUp,
    Backoff,
    HealRunning,
    CoolingDown,
    BudgetSpent,
    DeadlineReached,
    NotRegistered,
    NotOptedIn,
    AttemptsUsedUp,
    KeepsSkipping,
    AllHealersUsedUp,
    NoHealerCouldAct,
}

/// <summary>One decision of <see cref="HealPlanner"/>.</summary>
internal readonly record struct HealDecision(HealDecisionKind Kind, HealReason Reason = HealReason.None)
{
    public static readonly HealDecision Proceed = new(HealDecisionKind.Proceed);
    public static readonly HealDecision Run = new(HealDecisionKind.Run);
    public static readonly HealDecision FailVerification = new(HealDecisionKind.FailVerification);

    public static HealDecision HoldBack(HealReason reason) => new(HealDecisionKind.HoldBack, reason);

    public static HealDecision Escalate(HealReason reason) => new(HealDecisionKind.Escalate, reason);

    public static HealDecision Exhaust(HealReason reason) => new(HealDecisionKind.Exhaust, reason);
}
