using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Reconciliation.Http.Quantiles;

namespace Reconciliation.Benchmarks.Quantiles;

/// <summary>
/// Adds two columns to the quantile tables, computed once over <see cref="LatencySamples"/> (not timed): the memory an
/// estimator holds, and its relative error against an exact sort at p50 / p99 / p99.9. Rows are matched by the
/// estimator name their method starts with.
/// </summary>
internal sealed class QuantileConfig : ManualConfig
{
    public QuantileConfig()
    {
        AddColumn(
            new FactColumn("Estimator memory", Memory),
            new FactColumn("Error p50 / p99 / p99.9 vs exact", Error));
    }

    private static string Memory(string method) => Kind(method) switch
    {
        "Histogram" => Bytes(LatencyHistogram.CounterBytes),
        "Window" => Bytes(SlidingQuantileWindow.BytesFor(6)) + " (6 slices)",
        "HdrConcurrent" => Bytes(LatencySamples.NewHdrConcurrent().GetEstimatedFootprintInBytes()),
        "Hdr" => Bytes(LatencySamples.NewHdr().GetEstimatedFootprintInBytes()),
        "Exact" => "8 B/sample (" + Bytes(8L * LatencySamples.Count) + ")",
        _ => "-",
    };

    private static string Error(string method)
    {
        var errors = LatencySamples.Errors;
        return Kind(method) switch
        {
            "Histogram" => Percentages(errors.Histogram),
            "Window" => Percentages(errors.Window),
            "HdrConcurrent" or "Hdr" => Percentages(errors.Hdr),
            "Exact" => "0 (exact)",
            _ => "-",
        };
    }

    private static string Kind(string method)
    {
        foreach (var kind in (string[])["HdrConcurrent", "Hdr", "Histogram", "Window", "Exact"])
        {
            if (method.StartsWith(kind, StringComparison.Ordinal))
            {
                return kind;
            }
        }

        return string.Empty;
    }

    private static string Bytes(long bytes) => bytes >= 1024
        ? (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " B";

    private static string Percentages(double[] errors) =>
        string.Join(" / ", errors.Select(e => (e * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%"));

    private sealed class FactColumn(string name, Func<string, string> value) : IColumn
    {
        public string Id => "Fact." + name;

        public string ColumnName => name;

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => false;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => name == "Estimator memory"
            ? "Bytes the estimator holds (fixed for the histograms; the exact sort keeps every sample)"
            : "Relative error of the quantile read against an exact sort of the same 100,000 samples";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value(benchmarkCase.Descriptor.WorkloadMethod.Name);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
