using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reconciliation;

/// <summary>The library's instruments on the <c>Reconciliation</c> meter, created through <see cref="IMeterFactory"/>.</summary>
internal sealed class ReconciliationMetrics
{
    private readonly Counter<long> _heals;
    private readonly Counter<long> _plans;
    private readonly Counter<long> _probeFailures;
    private readonly Histogram<double> _tickDuration;
    private readonly Histogram<double> _probeDuration;
    private Func<IEnumerable<Measurement<double>>>? _signals;
    private Func<IEnumerable<Measurement<long>>>? _openViolations;

    /// <summary>The bucket boundaries (seconds) of the duration histograms.</summary>
    internal static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly TimeProvider _time;
    private long _healingPausedUntilTicks;

    public ReconciliationMetrics(IMeterFactory meterFactory, TimeProvider timeProvider)
    {
        _time = timeProvider;
        var meter = meterFactory.Create(ReconciliationTelemetry.MeterName);
        _heals = meter.CreateCounter<long>("reconciliation.heals", "{heal}", "Heal attempts, by healer and outcome.");
        // A dry-run plan is not an attempt: it has its own counter, so reconciliation.heals counts only what was carried out.
        _plans = meter.CreateCounter<long>("reconciliation.heal.plans", "{plan}", "Dry-run plans logged instead of a heal, by healer.");
        _probeFailures = meter.CreateCounter<long>("reconciliation.probe.failures", "{failure}", "Probe runs that threw, timed out or were unavailable.");
        // Buckets in seconds (OpenTelemetry's default boundaries, 0..10000, are meant for milliseconds): the boundaries
        // OpenTelemetry's semantic conventions advise for request durations, which fit a probe's round trip and a tick.
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        _tickDuration = meter.CreateHistogram<double>("reconciliation.tick.duration", "s", "Duration of one reconciliation tick.", tags: null, advice: seconds);
        _probeDuration = meter.CreateHistogram<double>("reconciliation.probe.duration", "s", "Duration of one probe run.", tags: null, advice: seconds);
        meter.CreateObservableGauge("reconciliation.signal.value", () => _signals?.Invoke() ?? [], description: "The latest reading of each signal, by signal and resource.");
        // Always reported (0 or 1), so an alert can tell "not paused" from "not scraped".
        meter.CreateObservableGauge("reconciliation.healing.paused", () => IsHealingPaused() ? 1 : 0, description: "1 while the global heal budget has paused healing, else 0.");
        meter.CreateObservableUpDownCounter("reconciliation.violations.open", () => _openViolations?.Invoke() ?? [], "{violation}", "Violations not closed, by rule, resource and severity.");
    }

    /// <summary>Connects the observable instruments to the engine's state (read at collection time only).</summary>
    public void Observe(Func<IEnumerable<Measurement<double>>> signals, Func<IEnumerable<Measurement<long>>> openViolations)
    {
        _signals = signals;
        _openViolations = openViolations;
    }

    /// <summary>The heal budget paused healing until <paramref name="until"/>.</summary>
    public void HealingPaused(DateTimeOffset until) => Interlocked.Exchange(ref _healingPausedUntilTicks, until.UtcTicks);

    /// <summary>Healing resumed (the pause ended or was lifted).</summary>
    public void HealingResumed() => Interlocked.Exchange(ref _healingPausedUntilTicks, 0);

    private bool IsHealingPaused()
    {
        var until = Interlocked.Read(ref _healingPausedUntilTicks);
        return until != 0 && _time.GetUtcNow().UtcTicks < until;
    }

    public void RecordHeal(string healer, HealOutcomeKind outcome)
    {
        if (_heals.Enabled)
        {
            var tags = new TagList { { "healer", healer }, { "outcome", OutcomeTag(outcome) } };
            _heals.Add(1, tags);
        }
    }

    public void RecordPlan(string healer)
    {
        if (_plans.Enabled)
        {
            var tags = new TagList { { "healer", healer } };
            _plans.Add(1, tags);
        }
    }

    public void RecordProbe(string resource, string probe, TimeSpan duration, bool failed)
    {
        if (_probeDuration.Enabled)
        {
            var tags = new TagList { { "resource", resource }, { "probe", probe } };
            _probeDuration.Record(duration.TotalSeconds, tags);
        }

        if (failed && _probeFailures.Enabled)
        {
            var tags = new TagList { { "resource", resource }, { "probe", probe } };
            _probeFailures.Add(1, tags);
        }
    }

    public void RecordTick(TimeSpan duration)
    {
        if (_tickDuration.Enabled)
        {
            _tickDuration.Record(duration.TotalSeconds);
        }
    }

    // Constant strings, so tagging allocates nothing. A dry-run plan never comes here (see RecordPlan).
    private static string OutcomeTag(HealOutcomeKind outcome) => outcome switch
    {
        HealOutcomeKind.Healed => "healed",
        HealOutcomeKind.Failed => "failed",
        HealOutcomeKind.Skipped => "skipped",
        _ => "unknown",
    };
}
