using System.Diagnostics.Metrics;

namespace Reconciliation;

/// <summary>The observable instruments' measurements, read from the latest report when a collector asks (never per tick).</summary>
internal static class ReportMeasurements
{
    public static IEnumerable<Measurement<double>> Signals(ReconciliationReport? report)
    {
        if (report is null)
        {
            yield break;
        }

        foreach (var reading in report.Signals)
        {
            if (reading.Value is double value)
            {
                yield return new Measurement<double>(value, new KeyValuePair<string, object?>("signal", reading.Signal), new KeyValuePair<string, object?>("resource", reading.Resource));
            }
        }
    }

    public static IEnumerable<Measurement<long>> OpenViolations(ReconciliationReport? report)
    {
        if (report is null)
        {
            yield break;
        }

        foreach (var violation in report.Violations)
        {
            if (violation.State != ViolationState.Closed)
            {
                yield return new Measurement<long>(1,
                    new KeyValuePair<string, object?>("rule", violation.Rule),
                    new KeyValuePair<string, object?>("resource", violation.Resource),
                    new KeyValuePair<string, object?>("severity", violation.Severity.ToString()));
            }
        }
    }
}
