using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Reconciliation.Health;

/// <summary>
/// Reports the reconciler's latest report as health: Healthy, or the worst open violation's severity, with per-rule data.
/// Never runs probes itself. A report older than a few intervals reads Unhealthy (the loop is stuck).
/// </summary>
internal sealed class ReconciliationHealthCheck : IHealthCheck
{
    private readonly IReconciler _reconciler;
    private readonly IOptionsMonitor<ReconciliationHealthCheckOptions> _options;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _createdAt;
    private readonly ReconciliationEngine? _engine;

    public ReconciliationHealthCheck(IReconciler reconciler, IOptionsMonitor<ReconciliationHealthCheckOptions> options, TimeProvider timeProvider)
    {
        _reconciler = reconciler;
        _options = options;
        _time = timeProvider;
        _engine = reconciler as ReconciliationEngine;

        // AddCheck<T> creates a new check per run: the grace before the first report starts with the engine, not here.
        _createdAt = _engine?.StartedAt ?? timeProvider.GetUtcNow();
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var options = _options.Get(context.Registration.Name);
        var now = _time.GetUtcNow();
        var report = _reconciler.LatestReport;
        var interval = report?.Interval ?? _engine?.CurrentOptions.Interval ?? TimeSpan.FromSeconds(10);
        var staleAfter = interval * options.StaleAfterIntervals;

        if (report is null)
        {
            return Task.FromResult(now - _createdAt > staleAfter
                ? new HealthCheckResult(context.Registration.FailureStatus, $"No reconciliation report after {staleAfter}: the loop is not running.")
                : HealthCheckResult.Healthy("Starting: waiting for the first reconciliation."));
        }

        var age = now - report.Timestamp;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["reportAge"] = age.TotalSeconds,
            ["tick"] = report.Tick,
        };
        if (age > staleAfter)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                $"The latest reconciliation report is {age.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s old (more than {options.StaleAfterIntervals} intervals): the loop is stuck.",
                data: data));
        }

        var status = HealthStatus.Healthy;
        var open = 0;
        foreach (var violation in report.Violations)
        {
            if (violation.State == ViolationState.Closed || (options.RuleTag is not null && !violation.Tags.Contains(options.RuleTag, StringComparer.OrdinalIgnoreCase)))
            {
                continue;
            }

            open++;
            var severity = violation.Severity == RuleSeverity.Unhealthy ? context.Registration.FailureStatus : HealthStatus.Degraded;
            if (severity < status)
            {
                status = severity;
            }

            // Only names and numbers: never a connection string or a reason text that could carry one.
            data[$"{violation.Rule}/{violation.Resource}"] = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["signal"] = violation.Signal,
                ["observed"] = violation.Observed,
                ["limit"] = violation.Limit,
                ["severity"] = violation.Severity.ToString(),
                ["state"] = violation.State.ToString(),
                ["openedAt"] = violation.OpenedAt.ToString("O", CultureInfo.InvariantCulture),
                ["attempts"] = violation.Attempts,
            };
        }

        if (report.HealingPausedUntil is { } paused)
        {
            data["healingPausedUntil"] = paused.ToString("O", CultureInfo.InvariantCulture);
        }

        var description = open == 0 ? "No open violations." : $"{open} open violation(s).";
        return Task.FromResult(new HealthCheckResult(status, description, data: data));
    }
}
