using System.Globalization;
using System.Text;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>One resource's trend after warm-up: least-squares slope times the span, against a stated tolerance.</summary>
internal sealed record Trend(string Resource, string Unit, double Mean, double Growth, double Tolerance)
{
    public bool Flat => Growth <= Tolerance;
}

/// <summary>
/// The soak's samples: every few seconds the host's last <c>sample</c> line (working set, GC heap after a full
/// collection, threads, open descriptors, active timers, native memory in use by the C allocator) and the library's own
/// PostgreSQL sessions (its probe, queue probe and listener pools on the orders database, its coordination pool on the
/// store), written to a CSV as they come, with what the working set is made of beside them.
/// </summary>
internal sealed class SoakRecorder(ChaosStorm storm, string csvPath)
{
    public static readonly (string Name, string Unit, double Scale, double Relative, double Absolute)[] Columns =
    [
        ("working_set", "MB", 1.0 / (1024 * 1024), 0.10, 20),
        ("gc_heap", "MB", 1.0 / (1024 * 1024), 0.10, 5),
        ("threads", "", 1, 0.10, 5),
        ("handles", "fds", 1, 0.10, 10),
        ("timers", "", 1, 0.10, 10),
        ("library_sessions", "", 1, 0, 1),
        ("native_in_use", "MB", 1.0 / (1024 * 1024), 0.10, 5),
    ];

    /// <summary>The sample fields of each judged column, in order.</summary>
    private static readonly string[] Fields = ["workingSet", "gcHeap", "threads", "fds", "timers", "(sessions)", "mallocInUse"];

    /// <summary>
    /// Recorded in the CSV, not judged: what the working set is made of (anonymous, file-backed, shared — the JIT's
    /// double-mapped code), the GC's committed bytes, and what the C allocator keeps freed.
    /// </summary>
    public static readonly (string Name, string Field)[] Parts =
    [
        ("rss_anon_MB", "rssAnon"), ("rss_file_MB", "rssFile"), ("rss_shmem_MB", "rssShmem"), ("gc_committed_MB", "gcCommitted"), ("malloc_free_MB", "mallocFree"),
    ];

    private readonly List<(double Seconds, double[] Values)> _rows = [];
    private DateTimeOffset _start;

    /// <summary>Samples after the first this many seconds are fitted (a fifth of the run, at least two minutes).</summary>
    public double WarmUpSeconds { get; private set; }

    public int Rows => _rows.Count;

    public async Task RunAsync(TimeSpan every, CancellationToken cancellationToken)
    {
        _start = TimeProvider.System.GetUtcNow();
        await using var csv = new StreamWriter(csvPath, append: false) { AutoFlush = true };
        await csv.WriteLineAsync("seconds," + string.Join(',', Columns.Select(c => c.Unit.Length > 0 ? $"{c.Name}_{c.Unit}" : c.Name).Concat(Parts.Select(p => p.Name))));
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var sample = storm.Log.All.LastOrDefault(l => l.Source == "host" && l.Is("sample"));
                if (sample is null)
                {
                    continue;
                }

                Dictionary<string, long> sessions;
                try
                {
                    sessions = await storm.SessionsAsync();
                }
                catch (Npgsql.NpgsqlException)
                {
                    continue; // the orders database is down (a fault of the storm): no sample this time
                }

                var library = sessions.Where(kv => kv.Key.StartsWith("reconciliation-", StringComparison.Ordinal)).Sum(kv => kv.Value);
                // A field the host could not read (mallinfo2 outside glibc) is NaN: not fitted, so never called flat.
                var values = Fields.Select((f, i) => (f == "(sessions)" ? library : sample.Number(f) ?? double.NaN) * Columns[i].Scale).ToArray();
                var parts = Parts.Select(p => sample.Number(p.Field) is { } v and >= 0 ? v / (1024 * 1024) : double.NaN);
                var seconds = (TimeProvider.System.GetUtcNow() - _start).TotalSeconds;
                lock (_rows)
                {
                    _rows.Add((seconds, values));
                }

                await csv.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0},{string.Join(',', values.Concat(parts).Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)))}"));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A quiet gap in the storm: <paramref name="gap"/> worth of the host's ticks (paced by its loop, not by a sleep).</summary>
    public async Task QuietAsync(TimeSpan gap)
    {
        var target = storm.Ticks + (long)(gap / ChaosStorm.I);
        await storm.Log.WaitForAsync(_ => storm.Ticks >= target, storm.Log.Count, gap + ChaosStorm.TickBound, CancellationToken.None);
    }

    public IReadOnlyList<Trend> Trends()
    {
        List<(double Seconds, double[] Values)> rows;
        lock (_rows)
        {
            rows = [.. _rows];
        }

        var trends = Fit(rows, out var warmUp);
        WarmUpSeconds = warmUp;
        return trends;
    }

    /// <summary>
    /// Fits each column after warm-up (a fifth of the run, at least two minutes) with least squares; the growth is the
    /// slope times the fitted span, flat when it is at most max(relative × mean, absolute) of the column.
    /// </summary>
    public static IReadOnlyList<Trend> Fit(IReadOnlyList<(double Seconds, double[] Values)> rows, out double warmUpSeconds)
    {
        var total = rows.Count == 0 ? 0 : rows[^1].Seconds;
        warmUpSeconds = Math.Max(120, total / 5);
        var from = warmUpSeconds;
        var fitted = rows.Where(r => r.Seconds >= from).ToList();
        var trends = new List<Trend>();
        for (var c = 0; c < Columns.Length; c++)
        {
            if (fitted.Count < 3)
            {
                trends.Add(new Trend(Columns[c].Name, Columns[c].Unit, double.NaN, double.PositiveInfinity, 0));
                continue;
            }

            var points = fitted.Where(r => !double.IsNaN(r.Values[c])).ToList();
            if (points.Count < 3)
            {
                trends.Add(new Trend(Columns[c].Name, Columns[c].Unit, double.NaN, double.PositiveInfinity, 0));
                continue;
            }

            var xs = points.Select(r => r.Seconds).ToArray();
            var ys = points.Select(r => r.Values[c]).ToArray();
            var mx = xs.Average();
            var my = ys.Average();
            var sxx = xs.Sum(x => (x - mx) * (x - mx));
            var sxy = xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my));
            var slope = sxx == 0 ? 0 : sxy / sxx;
            var growth = slope * (xs[^1] - xs[0]);
            var tolerance = Math.Max(Columns[c].Relative * my, Columns[c].Absolute);
            trends.Add(new Trend(Columns[c].Name, Columns[c].Unit, my, growth, tolerance));
        }

        return trends;
    }

    public static string TrendTable(IEnumerable<Trend> trends)
    {
        var text = new StringBuilder();
        text.AppendLine("| resource | mean after warm-up | fitted growth over the run after warm-up | tolerance | flat |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var t in trends)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {t.Resource} | {t.Mean:0.##} {t.Unit} | {t.Growth:+0.##;-0.##;0} {t.Unit} | {t.Tolerance:0.##} {t.Unit} | {(t.Flat ? "yes" : "NO")} |"));
        }

        return text.ToString();
    }

    public void WritePng(string path)
    {
        lock (_rows)
        {
            PngPlot.Write(path, "soak: seed " + storm.Seed.ToString(CultureInfo.InvariantCulture), _rows, Columns.Select(c => c.Unit.Length > 0 ? $"{c.Name} {c.Unit}" : c.Name).ToArray(), WarmUpSeconds);
        }
    }

    /// <summary>Re-reads a soak CSV (to draw its plot again).</summary>
    public static List<(double Seconds, double[] Values)> ReadCsv(string path) =>
        File.ReadLines(path).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .Select(v => (v[0], Enumerable.Range(1, Columns.Length).Select(i => i < v.Length ? v[i] : double.NaN).ToArray())).ToList(); // an older CSV has fewer columns
}
