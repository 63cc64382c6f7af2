using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>
/// The one telemetry funnel: every kind of thing that happens is logged, counted, published as an event (and tagged on
/// the current activity) from exactly one method here, so the four channels cannot drift apart.
/// </summary>
internal sealed class ReconciliationDiagnostics
{
    private readonly ILogger _logger;
    private readonly ReconciliationMetrics _metrics;
    private readonly ReconciliationEvents _events;
    private readonly TimeProvider _time;

    public ReconciliationDiagnostics(ILogger<ReconciliationEngine> logger, ReconciliationMetrics metrics, ReconciliationEvents events, TimeProvider time)
    {
        _logger = logger;
        _metrics = metrics;
        _events = events;
        _time = time;
    }

    public ILogger Logger => _logger;

    public ReconciliationMetrics Metrics => _metrics;

    public void ViolationOpened(ActiveViolation violation, DateTimeOffset now)
    {
        var instance = violation.Instance;
        _logger.ViolationOpened(instance.Rule.Name, instance.Resource, instance.Rule.Signal, violation.Observed, instance.Rule.Limit, instance.Rule.Severity);
        Publish(ViolationEvent(ReconciliationEventKind.ViolationOpened, violation, now));
    }

    public void ViolationClosed(ActiveViolation violation, DateTimeOffset now, string? reason = null)
    {
        var instance = violation.Instance;
        if (reason is null)
        {
            _logger.ViolationClosed(instance.Rule.Name, instance.Resource, instance.Rule.Signal, violation.Observed, now - violation.OpenedAt);
        }
        else
        {
            _logger.ViolationDropped(instance.Rule.Name, instance.Resource, reason);
        }

        Publish(ViolationEvent(ReconciliationEventKind.ViolationClosed, violation, now) with { Reason = reason });
    }

    public void ViolationExhausted(ActiveViolation violation, string reason, DateTimeOffset now)
    {
        var instance = violation.Instance;
        _logger.ViolationExhausted(instance.Rule.Name, instance.Resource, instance.Rule.Signal, reason);
        Publish(ViolationEvent(ReconciliationEventKind.ViolationExhausted, violation, now) with { Reason = reason });
    }

    /// <summary>A healer of the rule was passed over without running (not registered, not opted in, keeps skipping).</summary>
    public void HealerPassedOver(ActiveViolation violation, string healer, string reason, DateTimeOffset now)
    {
        var instance = violation.Instance;
        _logger.HealSkipped(healer, instance.Resource, instance.Rule.Name, reason);
        _metrics.RecordHeal(healer, HealOutcomeKind.Skipped);
        Publish(ViolationEvent(ReconciliationEventKind.HealSkipped, violation, now) with { Healer = healer, Reason = reason });
    }

    public void HealStarted(HealExecution execution)
    {
        var context = execution.Context;
        _logger.HealStarted(context.Rule, context.Resource, execution.Healer.Name, context.Attempt);
        Publish(HealEvent(ReconciliationEventKind.HealStarted, execution, _time.GetUtcNow()));
    }

    public void LeaseHeld(HealExecution execution) => _logger.LeaseHeld(execution.Context.Resource, execution.Healer.Name);

    /// <summary>
    /// The healer returned (or timed out, threw, was cancelled, or only planned). A "healed" answer is not counted here:
    /// a carried-out heal is counted once, by its verdict. A dry-run plan is not a heal: it is counted apart, in
    /// <c>reconciliation.heal.plans</c>, never in <c>reconciliation.heals</c>.
    /// </summary>
    public void HealReturned(HealExecution execution)
    {
        var outcome = execution.Outcome;
        var context = execution.Context;
        var healer = execution.Healer.Name;
        var at = execution.CompletedAt;
        switch (outcome.Kind)
        {
            case HealOutcomeKind.Failed:
                _metrics.RecordHeal(healer, HealOutcomeKind.Failed);
                _logger.HealFailed(healer, context.Resource, context.Rule, context.Attempt, outcome.Reason);
                Publish(HealEvent(ReconciliationEventKind.HealFailed, execution, at) with { Reason = outcome.Reason });
                break;
            case HealOutcomeKind.Skipped:
                _metrics.RecordHeal(healer, HealOutcomeKind.Skipped);
                _logger.HealSkipped(healer, context.Resource, context.Rule, outcome.Reason);
                Publish(HealEvent(ReconciliationEventKind.HealSkipped, execution, at) with { Reason = outcome.Reason });
                break;
            case HealOutcomeKind.DryRun:
                _metrics.RecordPlan(healer);
                _logger.HealDryRun(outcome.Reason ?? string.Empty, context.Rule, healer, context.Attempt);
                Publish(HealEvent(ReconciliationEventKind.HealSkipped, execution, at) with { Reason = "dry run: would " + outcome.Reason });
                break;
        }
    }

    public void HealVerified(HealExecution execution, DateTimeOffset now)
    {
        var context = execution.Context;
        _metrics.RecordHeal(execution.Healer.Name, HealOutcomeKind.Healed);
        _logger.HealSucceeded(execution.Healer.Name, context.Resource, context.Rule);
        Publish(HealEvent(ReconciliationEventKind.HealSucceeded, execution, now));
    }

    public void HealVerificationFailed(HealExecution execution, string reason, DateTimeOffset now)
    {
        var context = execution.Context;
        _metrics.RecordHeal(execution.Healer.Name, HealOutcomeKind.Failed);
        _logger.HealFailed(execution.Healer.Name, context.Resource, context.Rule, context.Attempt, reason);
        Publish(HealEvent(ReconciliationEventKind.HealFailed, execution, now) with { Reason = reason });
    }

    public void HealingPaused(int count, TimeSpan window, DateTimeOffset until, DateTimeOffset now)
    {
        _logger.HealingPaused(count, window, until);
        _metrics.HealingPaused(until);
        Publish(new ReconciliationEvent
        {
            Kind = ReconciliationEventKind.HealingPaused,
            Timestamp = now,
            Reason = $"{count} heals within {window}; paused until {HealReasons.Format(until)}",
        });
    }

    public void HealingResumed()
    {
        _logger.HealingResumed();
        _metrics.HealingResumed();
    }

    public void ProbeFailed(ProbeSlot slot, string reason)
    {
        _logger.ProbeFailed(slot.TypeName, slot.Probe.Resource, reason);
        Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.ProbeFailed, Timestamp = _time.GetUtcNow(), Resource = slot.Probe.Resource, Reason = reason });
    }

    public void InlineProbeTooSlow(ProbeSlot slot, TimeSpan took) => _logger.InlineProbeTooSlow(slot.TypeName, slot.Probe.Resource, took);

    public void ProbeRecovered(ProbeSlot slot)
    {
        _logger.ProbeRecovered(slot.TypeName, slot.Probe.Resource);
        Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.ProbeRecovered, Timestamp = _time.GetUtcNow(), Resource = slot.Probe.Resource, Reason = slot.TypeName });
    }

    public void JournalFailed(string operation, Exception exception) => _logger.JournalFailed(operation, SecretScrubber.Describe(exception));

    private static ReconciliationEvent ViolationEvent(ReconciliationEventKind kind, ActiveViolation violation, DateTimeOffset now) => new()
    {
        Kind = kind,
        Timestamp = now,
        Rule = violation.Instance.Rule.Name,
        Signal = violation.Instance.Rule.Signal,
        Resource = violation.Instance.Resource,
        Observed = violation.Observed,
    };

    private static ReconciliationEvent HealEvent(ReconciliationEventKind kind, HealExecution execution, DateTimeOffset at) => new()
    {
        Kind = kind,
        Timestamp = at,
        Rule = execution.Context.Rule,
        Signal = execution.Context.Signal,
        Resource = execution.Context.Resource,
        Observed = execution.Context.Observed,
        Healer = execution.Healer.Name,
        Attempt = execution.Context.Attempt,
    };

    private void Publish(ReconciliationEvent e) => _events.Publish(e);
}
