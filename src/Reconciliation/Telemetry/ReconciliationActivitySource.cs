using System.Diagnostics;

namespace Reconciliation;

/// <summary>The library's <see cref="ActivitySource"/>: a span per tick and per heal.</summary>
internal static class ReconciliationActivitySource
{
    public static readonly ActivitySource Instance = new(ReconciliationTelemetry.ActivitySourceName);
}
