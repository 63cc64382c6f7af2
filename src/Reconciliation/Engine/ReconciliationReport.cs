
namespace Reconciliation;

/// <summary>What one tick saw and did: every signal, open violations, heals, probe failures.</summary>
public sealed class ReconciliationReport
{
    internal ReconciliationReport(DateTimeOffset timestamp, TimeSpan duration, long tick, IReadOnlyList<SignalReading> signals,
        IReadOnlyList<Violation> violations, IReadOnlyList<HealResult> heals, IReadOnlyList<ProbeFailure> probeFailures,
        DateTimeOffset? healingPausedUntil, TimeSpan interval)
    {
        Timestamp = timestamp;
        Duration = duration;
        Tick = tick;
        Signals = signals;
        Violations = violations;
        Heals = heals;
        ProbeFailures = probeFailures;
        HealingPausedUntil = healingPausedUntil;
        Interval = interval;
    }

    /// <summary>When the tick started.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>How long the tick took.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The tick's sequence number, from 1.</summary>
    public long Tick { get; }

    /// <summary>The configured interval when the tick ran (the health check judges staleness by it).</summary>
    public TimeSpan Interval { get; }

    /// <summary>Every signal of every probe, with its value or no reading.</summary>
    public IReadOnlyList<SignalReading> Signals { get; }

    /// <summary>Violations that are not closed (open, healing, exhausted), and those that closed during this tick.</summary>
    public IReadOnlyList<Violation> Violations { get; }

    /// <summary>Heal attempts made during this tick.</summary>
    public IReadOnlyList<HealResult> Heals { get; }

    /// <summary>Probes that failed during this tick.</summary>
    public IReadOnlyList<ProbeFailure> ProbeFailures { get; }

    /// <summary>When the global heal budget is spent: until when healing is paused.</summary>
    public DateTimeOffset? HealingPausedUntil { get; }

    /// <summary>True when no violation is open.</summary>
    public bool IsHealthy
    {
        get
        {
            foreach (var violation in Violations)
            {
                if (violation.State != ViolationState.Closed)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The worst severity among violations that are not closed, or <see langword="null"/>.</summary>
    public RuleSeverity? WorstSeverity
    {
        get
        {
            RuleSeverity? worst = null;
            foreach (var violation in Violations)
            {
                if (violation.State != ViolationState.Closed && (worst is null || violation.Severity > worst))
                {
                    worst = violation.Severity;
                }
            }

            return worst;
        }
    }

    /// <summary>The value of <paramref name="signal"/> for <paramref name="resource"/>, or <see langword="null"/> when there was no reading.</summary>
    public double? ValueOf(string signal, string resource)
    {
        foreach (var reading in Signals)
        {
            if (string.Equals(reading.Signal, signal, StringComparison.Ordinal) && string.Equals(reading.Resource, resource, StringComparison.Ordinal))
            {
                return reading.Value;
            }
        }

        return null;
    }
}
