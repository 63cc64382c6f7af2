namespace Reconciliation;

/// <summary>What happened.</summary>
public enum ReconciliationEventKind
{
    /// <summary>A rule breached for its <c>For</c>: a violation opened.</summary>
    ViolationOpened,

    /// <summary>A healer was called.</summary>
    HealStarted,

    /// <summary>A heal was carried out and its violation closed in time.</summary>
    HealSucceeded,

    /// <summary>A heal failed, threw, timed out, or its violation did not close in time.</summary>
    HealFailed,

    /// <summary>A heal was not carried out: dry-run, not opted in, lease held elsewhere, nothing to do.</summary>
    HealSkipped,

    /// <summary>Every healer's attempts are used up; the violation stays open and is reported.</summary>
    ViolationExhausted,

    /// <summary>The signal crossed back past <c>Clear</c>.</summary>
    ViolationClosed,

    /// <summary>The global heal budget is spent: healing pauses.</summary>
    HealingPaused,

    /// <summary>A probe started failing (or recovered: see <see cref="ProbeRecovered"/>).</summary>
    ProbeFailed,

    /// <summary>A failing probe answered again.</summary>
    ProbeRecovered,

    /// <summary>A silence ends soon (<see cref="ReconciliationOptions.SilenceExpiryNotice"/> before its end).</summary>
    SilenceExpiring,

    /// <summary>A silence ended (by itself or expired by an operator).</summary>
    SilenceExpired,

    /// <summary>A heal was proposed and waits for approval.</summary>
    HealProposed,

    /// <summary>An operator approved, or rejected, a proposal; or it expired (the event's reason says which and who).</summary>
    ProposalDecided,

    /// <summary>A rule opened too often within its flap window: its heals are muted for a while.</summary>
    RuleFlapping,

    /// <summary>An operator paused, or resumed, all healing (the event's reason says which and who).</summary>
    OperatorPause,
}
