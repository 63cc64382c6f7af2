namespace Reconciliation;

/// <summary>Names of the telemetry sources the library publishes, for OpenTelemetry registration.</summary>
public static class ReconciliationTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> (<c>Reconciliation</c>).</summary>
    public const string MeterName = "Reconciliation";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> (<c>Reconciliation</c>).</summary>
    public const string ActivitySourceName = "Reconciliation";
}
