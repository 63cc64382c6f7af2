using Reconciliation;

namespace OpenTelemetry.Trace;

/// <summary>Registers Reconciliation's activity source with an OpenTelemetry <see cref="TracerProviderBuilder"/>.</summary>
public static class ReconciliationTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects the <c>Reconciliation</c> activity source: a <c>reconciliation.tick</c> span per tick and a
    /// <c>reconciliation.heal</c> span per heal, a root of its own linked to the tick that chose it (a heal outlives its tick).
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static TracerProviderBuilder AddReconciliationInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(ReconciliationTelemetry.ActivitySourceName);
    }
}
