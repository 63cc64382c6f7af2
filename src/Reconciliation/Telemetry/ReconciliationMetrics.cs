using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reconciliation;

/// <summary>The library's instruments on the <c>Reconciliation</c> meter, created through <see cref="IMeterFactory"/>.</summary>
internal sealed class ReconciliationMetrics
{
    private readonly Counter<long> _heals;
    private readonly Counter<long> _probeFailures;
    private readonly Histogram<double> _tickDuration;
    private readonly Histogram<double> _probeDuration;
    private Func<IEnumerable<Measurement<double>>>? _signals;
    private Func<IEnumerable<Measurement<long>>>? _openViolations;

    public ReconciliationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ReconciliationTelemetry.MeterName);
        _heals = meter.CreateCounter<long>("reconciliation.heals", "{heal}", "Heal attempts, by healer and outcome.");
        _probeFailures = meter.CreateCounter<long>("reconciliation.probe.failures", "{failure}", "Probe runs that threw, timed out or were unavailable.");
        _tickDuration = meter.CreateHistogram<double>("reconciliation.tick.duration", "s", "Duration of one reconciliation tick.");
        _probeDuration = meter.CreateHistogram<double>("reconciliation.probe.duration", "s", "Duration of one probe run.");
        meter.CreateObservableGauge("reconciliation.signal.value", () => _signals?.Invoke() ?? [], description: "The latest reading of each signal, by signal and resource.");
        meter.CreateObservableUpDownCounter("reconciliation.violations.open", () => _openViolations?.Invoke() ?? [], "{violation}", "Violations not closed, by rule, resource and severity.");
    }

    /// <summary>Connects the observable instruments to the engine's state (read at collection time only).</summary>
    public void Observe(Func<IEnumerable<Measurement<double>>> signals, Func<IEnumerable<Measurement<long>>> openViolations)
    {
        _signals = signals;
        _openViolations = openViolations;
    }

    public void RecordHeal(string healer, HealOutcomeKind outcome)
    {
        if (_heals.Enabled)
        {
            var tags = new TagList { { "healer", healer }, { "outcome", OutcomeTag(outcome) } };
            _heals.Add(1, tags);
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

    // Constant strings, so tagging allocates nothing.
    private static string OutcomeTag(HealOutcomeKind outcome) => outcome switch
    {
        HealOutcomeKind.Healed => "healed",
        HealOutcomeKind.Failed => "failed",
        HealOutcomeKind.Skipped => "skipped",
        HealOutcomeKind.DryRun => "dry_run",
        _ => "unknown",
    };
}
