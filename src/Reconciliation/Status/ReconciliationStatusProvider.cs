
namespace Reconciliation.Status;

/// <summary>Builds a <see cref="ReconciliationStatus"/> for a status page or an admin endpoint.</summary>
public sealed class ReconciliationStatusProvider
{
    private readonly IReconciliationState _reconciler;
    private readonly IHealJournal _journal;
    private readonly IReconciliationControl? _control;

    /// <summary>Creates the provider.</summary>
    internal ReconciliationStatusProvider(IReconciliationState reconciler, IHealJournal journal, IReconciliationControl? control = null)
    {
        ArgumentNullException.ThrowIfNull(reconciler);
        ArgumentNullException.ThrowIfNull(journal);
        _reconciler = reconciler;
        _journal = journal;
        _control = control;
    }

    /// <summary>The current status, with at most <paramref name="history"/> heal records.</summary>
    public async Task<ReconciliationStatus> GetAsync(int history = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(history);
        var records = history == 0 ? [] : await _journal.RecentAsync(history, cancellationToken).ConfigureAwait(false);
        var report = _reconciler.LatestReport;
        var options = _reconciler.CurrentOptions;
        // The controls as this replica last read them (the engine refreshes them each tick); no store round trip here.
        var silences = _control?.Silences ?? [];
        var proposals = _control?.Proposals ?? [];
        var pause = _control?.Pause;
        if (report is null)
        {
            return new ReconciliationStatus
            {
                History = records, Interval = options?.Interval ?? default, IsHealthy = true,
                Silences = silences, Proposals = proposals, OperatorPause = pause,
            };
        }

        var recent = _reconciler.History;

        var signals = new List<SignalStatus>(report.Signals.Count);
        for (var slot = 0; slot < report.Signals.Count; slot++)
        {
            var reading = report.Signals[slot];
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

            signals.Add(new SignalStatus(reading.Signal, reading.Resource, reading.Unit, reading.Value, thresholds)
            {
                History = recent.Read(slot, reading.Signal, reading.Resource),
            });
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
            Silences = silences,
            Proposals = proposals,
            OperatorPause = pause,
            Timeline = recent.Timeline(),
        };
    }
}
