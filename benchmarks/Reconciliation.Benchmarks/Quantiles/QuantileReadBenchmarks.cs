using BenchmarkDotNet.Attributes;
using HdrHistogram;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Http.Quantiles;

namespace Reconciliation.Benchmarks.Quantiles;

/// <summary>
/// Cost of reading p99 from 100,000 recorded samples, beside HdrHistogram and an exact sort of the same samples
/// (the columns give each estimator's memory and its error against the exact answer).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(QuantileConfig))]
[BenchmarkCategory(Categories.Quantile)]
public class QuantileReadBenchmarks
{
    private const double P99 = 0.99;

    private LatencyHistogram _histogram = null!;
    private SlidingQuantileWindow _window = null!;
    private LongHistogram _hdr = null!;
    private double[] _samples = null!;
    private double[] _scratch = null!;

    [GlobalSetup]
    public void Setup()
    {
        _samples = LatencySamples.Seconds;
        _scratch = new double[_samples.Length];
        _histogram = new LatencyHistogram();
        _hdr = LatencySamples.NewHdr();
        foreach (var sample in _samples)
        {
            _histogram.Record(sample);
            _hdr.RecordValue(LatencySamples.ToMicros(sample));
        }

        _window = LatencySamples.NewFullWindow(_samples);
        if (_window.Count != _samples.Length || double.IsNaN(WindowP99()) || HistogramP99() <= 0 || ExactP99() <= 0)
        {
            throw new InvalidOperationException("The estimators do not hold the samples the read benchmarks assume.");
        }
    }

    [Benchmark(Baseline = true, Description = "LatencyHistogram.GetQuantile(0.99)")]
    public double HistogramP99() => _histogram.GetQuantile(P99);

    /// <summary>What the HTTP latency probe reads per tick: six slices summed bucket by bucket.</summary>
    [Benchmark(Description = "SlidingQuantileWindow.GetQuantile(0.99), 6 slices")]
    public double WindowP99() => _window.GetQuantile(P99);

    [Benchmark(Description = "HdrHistogram LongHistogram.GetValueAtPercentile(99)")]
    public double HdrP99() => _hdr.GetValueAtPercentile(P99 * 100) / LatencySamples.MicrosPerSecond;

    /// <summary>The exact answer: copy the samples into a preallocated buffer, sort, index.</summary>
    [Benchmark(Description = "Exact: copy + Array.Sort + index (100k samples)")]
    public double ExactP99()
    {
        _samples.CopyTo(_scratch, 0);
        Array.Sort(_scratch);
        return LatencySamples.Exact(_scratch, P99);
    }
}
