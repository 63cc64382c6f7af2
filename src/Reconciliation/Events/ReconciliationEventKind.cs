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
}
