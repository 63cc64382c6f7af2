using System.Globalization;
using System.Text;
using Reconciliation.Chaos.Tests.Support;
using Xunit;

namespace Reconciliation.Chaos.Tests;

/// <summary>
/// The whole service under a seeded storm of faults (see docs/reliability.md). The short storm runs in the suite with a
/// fixed seed; <c>CHAOS_SEED</c> replays another. The soak (<c>RECONCILIATION_CHAOS_SOAK_MINUTES</c>, opt-in; run by
/// <c>bash eng/chaos.sh --minutes 30 --seed N</c>) repeats the storm at a low rate and checks the process stays flat.
/// </summary>
public sealed class ChaosTests
{
    public const int DefaultSeed = 1818;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("CHAOS_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : DefaultSeed;

    [Fact]
    public async Task Every_fault_of_a_seeded_storm_is_detected_and_healed_within_bounds_and_nothing_is_lost_leaked_or_printed()
    {
        var log = TestContext.Current.TestOutputHelper!;
        await using var storm = new ChaosStorm(Seed, log.WriteLine);
        await storm.StartAsync(TimeSpan.FromSeconds(2));
        var order = ChaosStorm.Faults.OrderBy(_ => storm.Random.Next()).ToArray();
        if (Environment.GetEnvironmentVariable("CHAOS_FAULTS") is { Length: > 0 } chosen)
        {
            order = chosen.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries); // replay part of a storm
        }

        log.WriteLine("storm: " + string.Join(", ", order));
        foreach (var fault in order)
        {
            await storm.InjectAsync(fault);
        }

        var failures = await storm.FinishAsync();
        log.WriteLine(Table(storm.Results));
        foreach (var late in storm.LateSettles)
        {
            log.WriteLine("late settle " + late);
        }

        var failed = storm.Results.Where(r => !r.Passed).Select(r => $"{r.Fault}: {r.Happened}").Concat(failures).ToList();
        Assert.True(failed.Count == 0, $"seed {storm.Seed}: " + string.Join(Environment.NewLine, failed) + Environment.NewLine + storm.Tail());
    }

    [Fact]
    public async Task Soak_the_same_storm_at_a_low_rate_keeps_every_resource_flat()
    {
        var minutes = double.TryParse(Environment.GetEnvironmentVariable("RECONCILIATION_CHAOS_SOAK_MINUTES"), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : 0;
        Assert.SkipWhen(minutes <= 0, "opt-in: RECONCILIATION_CHAOS_SOAK_MINUTES=30 (or bash eng/chaos.sh --minutes 30 --seed N)");
        var output = Environment.GetEnvironmentVariable("CHAOS_OUTPUT") is { Length: > 0 } o ? o : Directory.CreateTempSubdirectory("reconciliation-soak-").FullName;
        Directory.CreateDirectory(output);
        var log = TestContext.Current.TestOutputHelper!;
        using var progress = new StreamWriter(Path.Combine(output, "soak.log"), append: false) { AutoFlush = true };
        void Say(string line)
        {
            var stamped = $"{TimeProvider.System.GetUtcNow():HH:mm:ss} {line}";
            log.WriteLine(stamped);
            lock (progress)
            {
                progress.WriteLine(stamped);
            }
        }

        await using var storm = new ChaosStorm(Seed, Say);
        var sampleEvery = TimeSpan.FromSeconds(5);
        await storm.StartAsync(sampleEvery);
        var soak = new SoakRecorder(storm, Path.Combine(output, "soak.csv"));
        using var stopSampling = new CancellationTokenSource();
        var sampling = soak.RunAsync(sampleEvery, stopSampling.Token);

        // The storm at a low rate: one fault drawn by the seed, then a quiet gap, until the time is up.
        // CHAOS_FAULTS narrows the draw to chosen faults (a focused soak).
        var faults = Environment.GetEnvironmentVariable("CHAOS_FAULTS") is { Length: > 0 } chosen
            ? chosen.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : ChaosStorm.Faults;
        var end = TimeProvider.System.GetUtcNow() + TimeSpan.FromMinutes(minutes);
        var quiet = TimeSpan.FromSeconds(20);
        while (TimeProvider.System.GetUtcNow() + quiet < end)
        {
            var fault = faults[storm.Random.Next(faults.Length)];
            await storm.InjectAsync(fault);
            await soak.QuietAsync(quiet);
        }

        await stopSampling.CancelAsync();
        await sampling;
        var failures = await storm.FinishAsync();
        var trend = soak.Trends();
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"seed {storm.Seed}, {minutes} minutes, {soak.Rows} samples every {sampleEvery.TotalSeconds} s, {storm.Results.Count} faults ({storm.Results.Count(r => r.Passed)} as required)");
        report.AppendLine(Table(storm.Results));
        report.AppendLine(SoakRecorder.TrendTable(trend));
        report.AppendLine(CultureInfo.InvariantCulture, $"waits for a settled service longer than {ChaosStorm.SettleBound.TotalSeconds:0} s: {storm.LateSettles.Count}");
        foreach (var late in storm.LateSettles)
        {
            report.AppendLine("- " + late);
        }

        Say(report.ToString());
        await File.WriteAllTextAsync(Path.Combine(output, "soak-report.md"), report.ToString());
        soak.WritePng(Path.Combine(output, "soak.png"));
        var failed = storm.Results.Where(r => !r.Passed).Select(r => $"{r.Fault}: {r.Happened}")
            .Concat(failures).Concat(trend.Where(t => !t.Flat).Select(t => $"{t.Resource} grows {t.Growth:0.##} over the run after warm-up (tolerance {t.Tolerance:0.##})")).ToList();
        Assert.True(failed.Count == 0, $"seed {storm.Seed}: " + string.Join(Environment.NewLine, failed));
    }

    /// <summary>The fault matrix as a Markdown table.</summary>
    internal static string Table(IEnumerable<FaultResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| fault | what must happen | what happened | |");
        text.AppendLine("|---|---|---|---|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Fault} | {r.Must} | {r.Happened.Replace("|", "/", StringComparison.Ordinal)} | {(r.Passed ? "ok" : "FAILED")} |");
        }

        return text.ToString();
    }
}
