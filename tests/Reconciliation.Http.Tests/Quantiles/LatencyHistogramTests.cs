using Reconciliation.Http.Quantiles;
using Xunit;

namespace Reconciliation.Http.Tests.Quantiles;

public sealed class LatencyHistogramTests
{
    private static readonly double[] Quantiles = [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

    [Fact]
    public void Every_bucket_is_at_most_one_128th_of_its_values_wide()
    {
        for (var i = 0; i < LatencyHistogram.BucketCount; i++)
        {
            var lower = LatencyHistogram.BucketLowerBound(i);
            var width = LatencyHistogram.BucketWidth(i);
            Assert.True(width / lower <= 1.0 / 128 + 1e-15, $"bucket {i}: width/lower = {width / lower}");
            Assert.Equal(i, LatencyHistogram.BucketIndex(lower));
            Assert.Equal(i, LatencyHistogram.BucketIndex(Math.BitDecrement(lower + width)));
        }

        Assert.True(LatencyHistogram.RelativeError <= 0.01);
        Assert.Equal(16 * 1024, LatencyHistogram.CounterBytes);
    }

    public static TheoryData<string> Distributions => ["uniform", "bimodal", "pareto", "lognormal"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantiles_match_an_exact_sort_within_the_documented_bound(string distribution)
    {
        var random = new Random(20261125);
        var samples = new double[50_000];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = Sample(distribution, random);
        }

        var histogram = new LatencyHistogram();
        foreach (var sample in samples)
        {
            histogram.Record(sample);
        }

        Array.Sort(samples);
        Assert.Equal(samples.Length, histogram.Count);
        foreach (var q in Quantiles)
        {
            var exact = samples[LatencyHistogram.RankOf(q, samples.Length) - 1];
            var estimate = histogram.GetQuantile(q);
            var error = Math.Abs(estimate - exact) / exact;
            Assert.True(error <= LatencyHistogram.RelativeError, $"{distribution} q={q}: exact {exact}, estimate {estimate}, error {error:P3}");
        }
    }

    [Fact]
    public void Values_outside_the_range_are_clamped_and_an_empty_histogram_has_no_quantile()
    {
        var histogram = new LatencyHistogram();
        Assert.True(double.IsNaN(histogram.GetQuantile(0.99)));

        histogram.Record(0);
        histogram.Record(-1);
        histogram.Record(double.NaN);
        histogram.Record(1e9);
        Assert.Equal(4, histogram.Count);
        Assert.Equal(LatencyHistogram.BucketMidpoint(0), histogram.GetQuantile(0.5));
        Assert.Equal(LatencyHistogram.BucketMidpoint(LatencyHistogram.BucketCount - 1), histogram.GetQuantile(1));

        histogram.Clear();
        Assert.Equal(0, histogram.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.GetQuantile(1.5));
    }

    [Fact]
    public void Record_allocates_nothing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(0.001);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            histogram.Record(i * 1e-5);
        }

        var quantile = histogram.GetQuantile(0.99);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(quantile > 0);
    }

    [Fact]
    public async Task Concurrent_records_are_all_counted()
    {
        var histogram = new LatencyHistogram();
        const int PerThread = 200_000;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                histogram.Record(0.010 + (t * 0.001));
            }
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(4 * PerThread, histogram.Count);
        var exact = 0.013;
        Assert.True(Math.Abs(histogram.GetQuantile(1) - exact) / exact <= LatencyHistogram.RelativeError);
    }

    internal static double Sample(string distribution, Random random) => distribution switch
    {
        // 1 ms .. 500 ms, flat.
        "uniform" => 0.001 + (random.NextDouble() * 0.499),

        // A fast path (~5 ms) and a slow path (~300 ms, 10 % of requests): the shape a cache miss gives.
        "bimodal" => random.NextDouble() < 0.9 ? Normal(random, 0.005, 0.001, 0.0005) : Normal(random, 0.300, 0.040, 0.050),

        // Pareto, alpha 1.5, from 2 ms: a heavy tail of rare very slow requests.
        "pareto" => Math.Min(0.002 / Math.Pow(1 - random.NextDouble(), 1 / 1.5), 4000),

        // Lognormal around 20 ms, sigma 1.
        "lognormal" => Math.Exp(Math.Log(0.020) + Normal(random, 0, 1, double.NegativeInfinity)),
        _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
    };

    private static double Normal(Random random, double mean, double deviation, double floor)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Max(floor, mean + (deviation * z));
    }
}
