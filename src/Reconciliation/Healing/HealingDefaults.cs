namespace Reconciliation;

/// <summary>
/// The defaults and bounds of the heal policy in one place (internal: the documented defaults are on the options).
/// Bounds exist so a typo ("100.00:00:00") fails at start naming its key instead of overflowing <c>now + backoff</c>.
/// </summary>
internal static class HealingDefaults
{
    public static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);

    public const int MaxAttempts = 3;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    public const double BackoffMultiplier = 2;

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public const int BudgetMaxHeals = 20;

    public static readonly TimeSpan BudgetWindow = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan BudgetPause = TimeSpan.FromMinutes(10);

    /// <summary>The flap breaker's opens allowed within its window.</summary>
    public const int FlapMaxOpens = 10;

    /// <summary>The flap breaker's window.</summary>
    public static readonly TimeSpan FlapWindow = TimeSpan.FromHours(1);

    /// <summary>How long the flap breaker mutes a flapping rule's heals.</summary>
    public static readonly TimeSpan FlapMuteFor = TimeSpan.FromHours(1);

    /// <summary>Deadline of every call the engine makes into a journal, a lease or a healer's <c>DescribePlan</c>.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A healer that answers <see cref="HealOutcomeKind.Skipped"/> this many times in a row while its violation stays
    /// open is passed over for the rule's next healer (its "nothing to do" is evidently not the fix).
    /// </summary>
    public const int SkipsBeforeEscalation = 3;

    /// <summary>The longest a tick waits for the heals it started, as a fraction of the interval (then they go on in the background).</summary>
    public const int InTickHealWaitDivisor = 2;

    /// <summary>A verification deadline counts as reached this fraction of an interval early (timer jitter).</summary>
    public const int VerifyJitterDivisor = 10;

    /// <summary>Upper bound of cooldowns, backoffs, windows, pauses and verification periods.</summary>
    public static readonly TimeSpan MaxPolicyDuration = TimeSpan.FromDays(1);

    /// <summary>Upper bound of the attempt window and the budget window (the in-memory journal keeps records this long).</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(7);

    /// <summary>Upper bound of a heal's timeout, a probe's timeout, a call's timeout and the interval.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>Upper bound of <c>MaxAttempts</c>, <c>MaxTargets</c> and the budget's <c>MaxHeals</c>.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Upper bound of the backoff multiplier.</summary>
    public const double MaxBackoffMultiplier = 100;

    /// <summary>How many of a healer's recent attempts are read to find whether an interrupted heal was journaled.</summary>
    public const int InterruptedLookup = 100;

    /// <summary>Two journaled start times closer than this are the same heal (stores keep coarser times than .NET).</summary>
    public static readonly TimeSpan JournalTimePrecision = TimeSpan.FromMilliseconds(1);
}
