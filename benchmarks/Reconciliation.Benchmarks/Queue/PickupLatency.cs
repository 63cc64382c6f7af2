using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using HdrHistogram;

namespace Reconciliation.Benchmarks.Queue;

/// <summary>
/// Pickup latency (enqueue to handler start) of every job a benchmark case ran, warm-up included, in an HdrHistogram
/// (µs, 3 significant digits); its p99 is a column (in process) and a log line written at the case's cleanup.
/// </summary>
internal static class PickupLatency
{
    private static readonly ConcurrentDictionary<string, string> P99ByCase = new(StringComparer.Ordinal);
    private static LongConcurrentHistogram _histogram = New();

    public static void Reset() => Interlocked.Exchange(ref _histogram, New());

    public static void Record(TimeSpan latency) =>
        Volatile.Read(ref _histogram).RecordValue(Math.Max(1, (long)latency.TotalMicroseconds));

    public static void Report(string method, int workers)
    {
        var histogram = Volatile.Read(ref _histogram);
        var p99 = histogram.TotalCount == 0 ? "-" : (histogram.GetValueAtPercentile(99) / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " ms";
        P99ByCase[Key(method, workers)] = p99;
        Console.WriteLine($"// pickup latency: {method}, {workers.ToString(CultureInfo.InvariantCulture)} workers: p99 {p99} over {histogram.TotalCount.ToString(CultureInfo.InvariantCulture)} jobs");
    }

    private static LongConcurrentHistogram New() => new(1, 3_600_000_000L, 3);

    private static string Key(string method, int workers) => method + "/" + workers.ToString(CultureInfo.InvariantCulture);

    internal sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new Column());
    }

    private sealed class Column : IColumn
    {
        public string Id => "PickupP99";

        public string ColumnName => "Pickup p99";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => false;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "p99 of enqueue-to-handler-start over every job the case ran (\"?\" out of process: see the log)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var workers = benchmarkCase.Parameters["Workers"] is int w ? w : -1;
            return P99ByCase.TryGetValue(Key(benchmarkCase.Descriptor.WorkloadMethod.Name, workers), out var p99) ? p99 : "?";
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
