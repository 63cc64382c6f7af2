
namespace Reconciliation.Status;

/// <summary>
/// What a status page shows: every signal against the thresholds that watch it, open violations, recent heal history.
/// Built from the latest report (never runs a tick). Holds only names and numbers, never secrets.
/// </summary>
public sealed record ReconciliationStatus
{
    /// <summary>When the latest report's tick started, or <see langword="null"/> before the first tick.</summary>
    public DateTimeOffset? ReportTime { get; init; }

    /// <summary>The latest tick's number (0 before the first).</summary>
    public long Tick { get; init; }

    /// <summary>The configured interval.</summary>
    public TimeSpan Interval { get; init; }

    /// <summary>True when no violation is open.</summary>
    public bool IsHealthy { get; init; }

    /// <summary>Every signal with its value and thresholds.</summary>
    public IReadOnlyList<SignalStatus> Signals { get; init; } = [];

    /// <summary>Violations not closed, and those closed during the latest tick.</summary>
    public IReadOnlyList<Violation> Violations { get; init; } = [];

    /// <summary>Recent heal attempts and verdicts, newest first.</summary>
    public IReadOnlyList<HealRecord> History { get; init; } = [];

    /// <summary>Probes that failed in the latest tick.</summary>
    public IReadOnlyList<ProbeFailure> ProbeFailures { get; init; } = [];

    /// <summary>Until when healing is paused by the global budget, if it is.</summary>
    public DateTimeOffset? HealingPausedUntil { get; init; }

    /// <summary>Silences not yet expired (from configuration and added at run time), soonest ending first.</summary>
    public IReadOnlyList<Silence> Silences { get; init; } = [];

    /// <summary>Proposals awaiting a decision, oldest first.</summary>
    public IReadOnlyList<HealProposal> Proposals { get; init; } = [];

    /// <summary>An operator's pause of all healing, if one holds.</summary>
    public HealingPause? OperatorPause { get; init; }

    /// <summary>Violations opened and closed recently (the newest 200, kept by the engine), oldest first.</summary>
    public IReadOnlyList<TimelineEntry> Timeline { get; init; } = [];

    /// <summary>
    /// Whether the viewer may change the controls (silences, approvals, pause): set by the endpoint that serves the status
    /// for its caller (the <c>Reconciliation.AspNetCore</c> package does); <see langword="null"/> when nobody asked.
    /// </summary>
    public bool? CanMutate { get; init; }
}

/// <summary>One signal on the status page.</summary>
/// <param name="Signal">The signal's name.</param>
/// <param name="Resource">The resource.</param>
/// <param name="Unit">The unit.</param>
/// <param name="Value">The latest reading, or <see langword="null"/>.</param>
/// <param name="Thresholds">The rules that watch it.</param>
public sealed record SignalStatus(string Signal, string Resource, string Unit, double? Value, IReadOnlyList<ThresholdStatus> Thresholds)
{
    /// <summary>Its last hour (kept by the engine), or <see langword="null"/> when not known (a report serialized on its own).</summary>
    public SignalHistoryStatus? History { get; init; }
}

/// <summary>One rule's threshold on a signal.</summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Direction"><c>above</c> or <c>below</c>.</param>
/// <param name="Limit">The limit.</param>
/// <param name="Clear">The clear level.</param>
/// <param name="Severity">The rule's severity.</param>
/// <param name="Breaching">True when the latest value is past the limit.</param>
public sealed record ThresholdStatus(string Rule, string Direction, double Limit, double Clear, string Severity, bool Breaching);

/// <summary>
/// A signal's last hour, in fixed buckets of <see cref="StepSeconds"/> seconds from <see cref="Start"/>, oldest first: the
/// lowest and the highest reading in each bucket, <see langword="null"/> where there was none.
/// </summary>
/// <param name="Start">The start of the oldest bucket (UTC).</param>
/// <param name="StepSeconds">The width of a bucket in seconds.</param>
/// <param name="Min">The lowest reading in each bucket.</param>
/// <param name="Max">The highest reading in each bucket.</param>
public sealed record SignalHistoryStatus(DateTimeOffset Start, double StepSeconds, IReadOnlyList<double?> Min, IReadOnlyList<double?> Max);

/// <summary>A violation opened or closed, for the status page's timeline.</summary>
/// <param name="At">When (the tick's time, UTC).</param>
/// <param name="Kind"><c>opened</c> or <c>closed</c>.</param>
/// <param name="Rule">The rule.</param>
/// <param name="Resource">The resource.</param>
/// <param name="Observed">The reading that opened or closed it.</param>
public sealed record TimelineEntry(DateTimeOffset At, string Kind, string Rule, string Resource, double? Observed)
{
    internal const string Opened = "opened";
    internal const string Closed = "closed";
}
