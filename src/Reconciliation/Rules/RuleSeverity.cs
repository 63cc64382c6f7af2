namespace Reconciliation;

/// <summary>How bad an open violation of a rule is, as the health check reports it.</summary>
public enum RuleSeverity
{
    /// <summary>The service works but is impaired (health status Degraded).</summary>
    Degraded,

    /// <summary>The service should not take traffic (health status Unhealthy).</summary>
    Unhealthy,
}
