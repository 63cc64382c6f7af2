namespace Reconciliation.Health;

/// <summary>Options of one reconciliation health check registration (named like the registration).</summary>
public sealed class ReconciliationHealthCheckOptions
{
    /// <summary>
    /// Only violations of rules carrying this tag count (e.g. <c>live</c> or <c>ready</c>); null counts every rule.
    /// </summary>
    public string? RuleTag { get; set; }

    /// <summary>
    /// The loop counts as stuck when no tick has completed for this many intervals (and none is running for less
    /// than that). Measured from the end of the last completed tick, so a long tick or a long heal (heals run off the
    /// tick) never reads as stuck. Default 3.
    /// </summary>
    public double StaleAfterIntervals { get; set; } = 3;

    /// <summary>
    /// Whether the check is Healthy before the first tick has completed. Default <see langword="false"/>: nothing has
    /// been measured yet, so a readiness check must not pass. Set it for a liveness registration, which should not
    /// restart a process that is still starting (it still fails when no tick completes within
    /// <see cref="StaleAfterIntervals"/> of the start).
    /// </summary>
    public bool HealthyBeforeFirstTick { get; set; }
}
