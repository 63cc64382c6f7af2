namespace Reconciliation.Health;

/// <summary>Options of one reconciliation health check registration.</summary>
public sealed class ReconciliationHealthCheckOptions
{
    /// <summary>
    /// Count only violations of rules that carry this tag (<c>Reconciliation:Rules:x:Tags</c>), so a host maps liveness
    /// and readiness separately. Null (default): every rule counts.
    /// </summary>
    public string? RuleTag { get; set; }

    /// <summary>A report older than this many intervals reads Unhealthy: the loop itself is stuck. Default 3.</summary>
    public double StaleAfterIntervals { get; set; } = 3;
}
