using HdrHistogram;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Quantiles;

namespace Reconciliation.Benchmarks.Quantiles;

/// <summary>
/// One fixed, seeded set of request latencies shared by the quantile benchmarks, and the estimators under test built the
/// same way in every class: the library's <see cref="LatencyHistogram"/> and <see cref="SlidingQuantileWindow"/>, and
/// HdrHistogram's <see cref="LongHistogram"/> with the same range (1 µs to 4,096 s) and the same resolution (2 significant
/// digits = 128 buckets per power of two).
/// </summary>
internal static class LatencySamples
{
    /// <summary>How many samples one full window holds in these benchmarks.</summary>
    public const int Count = 100_000;

    /// <summary>HdrHistogram records integers: microseconds.</summary>
    public const double MicrosPerSecond = 1_000_000;

    public const long HdrLowest = 1;
    public const long HdrHighest = 4_096L * 1_000_000;
    public const int HdrSignificantDigits = 2;

    public static readonly double[] Quantiles = [0.5, 0.99, 0.999];

    private static readonly Lazy<double[]> LazySeconds = new(Generate);
    private static readonly Lazy<Accuracy> LazyAccuracy = new(Measure);

    /// <summary>Latencies in seconds: log-normal around 20 ms, with a 1 % slow tail (×20), like an HTTP service's.</summary>
    public static double[] Seconds => LazySeconds.Value;

    public static Accuracy Errors => LazyAccuracy.Value;

    public static long ToMicros(double seconds) => Math.Max(HdrLowest, (long)Math.Round(seconds * MicrosPerSecond));

    public static LongHistogram NewHdr() => new(HdrLowest, HdrHighest, HdrSignificantDigits);

    public static LongConcurrentHistogram NewHdrConcurrent() => new(HdrLowest, HdrHighest, HdrSignificantDigits);

    /// <summary>
    /// A 1-minute, 6-slice window (the HTTP adapter's defaults) whose every slice holds an equal share of
    /// <paramref name="samples"/>, on a clock that then stands still, so reads always see a full window.
    /// </summary>
    public static SlidingQuantileWindow NewFullWindow(double[] samples)
    {
        const int slices = 6;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), slices, clock);
        var perSlice = samples.Length / slices;
        for (var i = 0; i < samples.Length; i++)
        {
            if (i > 0 && i % perSlice == 0 && i / perSlice < slices)
            {
                clock.Advance(TimeSpan.FromSeconds(10));
            }

            window.Record(samples[i]);
        }

        return window;
    }

    /// <summary>The nearest-rank quantile of sorted values: the smallest with at least ceil(q × n) values at or below it.</summary>
    public static double Exact(double[] sorted, double quantile) => sorted[LatencyHistogram.RankOf(quantile, sorted.Length) - 1];

    private static double[] Generate()
    {
        var random = new Random(20260101);
        var samples = new double[Count];
        for (var i = 0; i < samples.Length; i++)
        {
            // Box-Muller: a standard normal from two uniforms.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            var latency = 0.020 * Math.Exp(0.6 * normal);
            samples[i] = random.NextDouble() < 0.01 ? latency * 20 : latency;
        }

        return samples;
    }

    private static Accuracy Measure()
    {
        var samples = Seconds;
        var sorted = (double[])samples.Clone();
        Array.Sort(sorted);

        var histogram = new LatencyHistogram();
        var hdr = NewHdr();
        foreach (var sample in samples)
        {
            histogram.Record(sample);
            hdr.RecordValue(ToMicros(sample));
        }

        var window = NewFullWindow(samples);
        var ours = new double[Quantiles.Length];
        var oursWindow = new double[Quantiles.Length];
        var theirs = new double[Quantiles.Length];
        for (var i = 0; i < Quantiles.Length; i++)
        {
            var exact = Exact(sorted, Quantiles[i]);
            ours[i] = Math.Abs(histogram.GetQuantile(Quantiles[i]) - exact) / exact;
            oursWindow[i] = Math.Abs(window.GetQuantile(Quantiles[i]) - exact) / exact;
            theirs[i] = Math.Abs((hdr.GetValueAtPercentile(Quantiles[i] * 100) / MicrosPerSecond) - exact) / exact;
        }

        return new Accuracy(ours, oursWindow, theirs, histogram.Count == samples.Length && window.Count == samples.Length);
    }

    /// <summary>Relative errors against the exact sort at <see cref="Quantiles"/>.</summary>
    internal sealed record Accuracy(double[] Histogram, double[] Window, double[] Hdr, bool AllCounted);
}
