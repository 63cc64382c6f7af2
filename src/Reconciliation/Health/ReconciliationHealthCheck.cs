using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Reconciliation.Health;

/// <summary>
/// Health from the engine's state: the loop's progress (liveness), then the open violations of the rules this
/// registration counts (by <see cref="ReconciliationHealthCheckOptions.RuleTag"/>), worst severity first.
/// </summary>
internal sealed class ReconciliationHealthCheck : IHealthCheck
{
    private readonly IReconciliationState _state;
    private readonly IOptionsMonitor<ReconciliationHealthCheckOptions> _options;
    private readonly TimeProvider _time;

    public ReconciliationHealthCheck(IReconciliationState state, IOptionsMonitor<ReconciliationHealthCheckOptions> options, TimeProvider timeProvider)
    {
        _state = state;
        _options = options;
        _time = timeProvider;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Evaluate(_state, _options.Get(context.Registration.Name), context.Registration.FailureStatus, _time.GetUtcNow()));

    /// <summary>The check's verdict from the engine's state at <paramref name="now"/> (shared with the heartbeat and TCP probes).</summary>
    internal static HealthCheckResult Evaluate(IReconciliationState state, ReconciliationHealthCheckOptions options, HealthStatus failureStatus, DateTimeOffset now)
    {
        var current = state.CurrentOptions;
        if (!current.Enabled)
        {
            // Switched off on purpose: not a stuck loop, and nothing to report.
            return HealthCheckResult.Healthy("Reconciliation is disabled (Enabled = false): nothing is measured or healed.");
        }

        var staleAfter = current.Interval * options.StaleAfterIntervals;
        var report = state.LatestReport;
        var lastProgress = state.LastTickCompletedAt ?? state.StartedAt;
        var runningSince = state.TickRunningSince;
        if (now - lastProgress > staleAfter && (runningSince is null || now - runningSince.Value > staleAfter))
        {
            return new HealthCheckResult(failureStatus, report is null
                ? $"No reconciliation tick completed within {staleAfter} of the start: the loop is not running."
                : $"No reconciliation tick completed for {Seconds(now - lastProgress)} s (more than {Format(options.StaleAfterIntervals)} intervals): the loop is stuck.");
        }

        if (report is null)
        {
            return options.HealthyBeforeFirstTick
                ? HealthCheckResult.Healthy("Starting: waiting for the first reconciliation.")
                : new HealthCheckResult(failureStatus, "Not measured yet: the first reconciliation tick has not completed.");
        }

        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["reportAge"] = (now - report.Timestamp).TotalSeconds,
            ["tick"] = report.Tick,
        };
        var status = HealthStatus.Healthy;
        var open = 0;
        foreach (var violation in report.Violations)
        {
            if (violation.State == ViolationState.Closed || (options.RuleTag is not null && !violation.Tags.Contains(options.RuleTag, StringComparer.OrdinalIgnoreCase)))
            {
                continue;
            }

            open++;
            var severity = violation.Severity == RuleSeverity.Unhealthy ? failureStatus : HealthStatus.Degraded;
            if (severity < status)
            {
                status = severity;
            }

            // Names, numbers and the engine's own words only: never a connection string.
            var entry = new ViolationHealthData
            {
                ["signal"] = violation.Signal,
                ["observed"] = violation.Observed,
                ["limit"] = violation.Limit,
                ["severity"] = violation.Severity.ToString(),
                ["state"] = violation.State.ToString(),
                ["openedAt"] = violation.OpenedAt.ToString("O", CultureInfo.InvariantCulture),
                ["attempts"] = violation.Attempts,
            };
            if (violation.HeldBack is { } heldBack)
            {
                // Why it is not being healed: a silence, a window, an inhibiting rule, a pending proposal, the policy.
                entry["heldBack"] = heldBack;
            }

            data[$"{violation.Rule}/{violation.Resource}"] = entry;
        }

        foreach (var failure in report.ProbeFailures)
        {
            // The reason is scrubbed where it was caught (a probe's exception can carry its connection string).
            data[$"probe.failed/{failure.Resource}/{failure.Probe}"] = failure.Reason;
        }

        if (report.HealingPausedUntil is { } paused)
        {
            data["healingPausedUntil"] = paused.ToString("O", CultureInfo.InvariantCulture);
        }

        var description = open == 0 ? "No open violations." : $"{open} open violation(s).";
        return new HealthCheckResult(status, description, data: data);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// One violation in a health check's data: a dictionary for writers that serialize it (and for code that reads it), with
/// a <see cref="ToString"/> that prints the values for writers that only call <c>ToString()</c> on a data value (which
/// would otherwise print a type name).
/// </summary>
internal sealed class ViolationHealthData : Dictionary<string, object>
{
    public ViolationHealthData()
        : base(StringComparer.Ordinal)
    {
    }

    public override string ToString() => string.Join(", ", this.Select(static p => p.Key + "=" + Convert.ToString(p.Value, CultureInfo.InvariantCulture)));
}
