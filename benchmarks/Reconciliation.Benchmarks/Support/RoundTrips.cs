using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Reconciliation.Benchmarks.Support;

/// <summary>
/// Round trips per operation, counted once in GlobalSetup (Npgsql activities, StackExchange.Redis profiled commands), not
/// timed. Shown as a column when the benchmark runs in process (<c>--short</c>), and always written to the log.
/// </summary>
internal static class RoundTrips
{
    private static readonly ConcurrentDictionary<string, int> Counted = new(StringComparer.Ordinal);

    public static void Record(Type benchmarks, string method, int count)
    {
        Counted[benchmarks.Name + "." + method] = count;
        Console.WriteLine($"// round trips: {benchmarks.Name}.{method} = {count.ToString(CultureInfo.InvariantCulture)} per operation");
    }

    internal sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new Column());
    }

    private sealed class Column : IColumn
    {
        public string Id => "RoundTrips";

        public string ColumnName => "Round trips";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Server round trips per operation, counted in GlobalSetup (\"?\" when run out of process: see the log)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            Counted.TryGetValue(benchmarkCase.Descriptor.Type.Name + "." + benchmarkCase.Descriptor.WorkloadMethod.Name, out var count)
                ? count.ToString(CultureInfo.InvariantCulture)
                : "?";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
