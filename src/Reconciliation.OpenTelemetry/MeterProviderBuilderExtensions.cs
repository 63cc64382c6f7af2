using Reconciliation;

namespace OpenTelemetry.Metrics;

/// <summary>Registers Reconciliation's meter with an OpenTelemetry <see cref="MeterProviderBuilder"/>.</summary>
public static class ReconciliationMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects the <c>Reconciliation</c> meter: <c>reconciliation.signal.value</c>, <c>reconciliation.violations.open</c>,
    /// <c>reconciliation.heals</c>, <c>reconciliation.heal.plans</c>, <c>reconciliation.tick.duration</c>,
    /// <c>reconciliation.probe.duration</c> and <c>reconciliation.probe.failures</c> (see docs/observability.md).
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static MeterProviderBuilder AddReconciliationInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(ReconciliationTelemetry.MeterName);
    }
}
