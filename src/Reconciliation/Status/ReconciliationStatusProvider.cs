
namespace Reconciliation.Status;

/// <summary>Builds a <see cref="ReconciliationStatus"/> for a status page or an admin endpoint.</summary>
public sealed class ReconciliationStatusProvider
{
    private readonly IReconciliationState _reconciler;
    private readonly IHealJournal _journal;

    /// <summary>Creates the provider.</summary>
    internal ReconciliationStatusProvider(IReconciliationState reconciler, IHealJournal journal)
    {
        ArgumentNullException.ThrowIfNull(reconciler);
        ArgumentNullException.ThrowIfNull(journal);
        _reconciler = reconciler;
        _journal = journal;
    }

    /// <summary>The current status, with at most <paramref name="history"/> heal records.</summary>
    public async Task<ReconciliationStatus> GetAsync(int history = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(history);
        var records = history == 0 ? [] : await _journal.RecentAsync(history, cancellationToken).ConfigureAwait(false);
        var report = _reconciler.LatestReport;
        var options = _reconciler.CurrentOptions;
        if (report is null)
        {
            return new ReconciliationStatus { History = records, Interval = options?.Interval ?? default, IsHealthy = true };
        }

        var signals = new List<SignalStatus>(report.Signals.Count);
        foreach (var reading in report.Signals)
        {
            var thresholds = new List<ThresholdStatus>();
            if (options is not null)
            {
                foreach (var (name, rule) in options.Rules)
                {
                    if (!rule.Enabled || !string.Equals(rule.Signal, reading.Signal, StringComparison.Ordinal)
                        || (rule.Resource is not null && !string.Equals(rule.Resource, reading.Resource, StringComparison.Ordinal)))
                    {
                        continue;
                    }

                    var above = rule.Above is not null;
                    var limit = rule.Above ?? rule.Below ?? double.NaN;
                    var breaching = reading.Value is double v && (above ? v > limit : v < limit);
                    thresholds.Add(new ThresholdStatus(name, above ? "above" : "below", limit, rule.Clear ?? limit, rule.Severity.ToString(), breaching));
                }
            }

            signals.Add(new SignalStatus(reading.Signal, reading.Resource, reading.Unit, reading.Value, thresholds));
        }

        return new ReconciliationStatus
        {
            ReportTime = report.Timestamp,
            Tick = report.Tick,
            Interval = report.Interval,
            IsHealthy = report.IsHealthy,
            Signals = signals,
            Violations = report.Violations,
            History = records,
            ProbeFailures = report.ProbeFailures,
            HealingPausedUntil = report.HealingPausedUntil,
        };
    }
}
