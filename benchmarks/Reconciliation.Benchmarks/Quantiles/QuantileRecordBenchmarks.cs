using BenchmarkDotNet.Attributes;
using HdrHistogram;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Http.Quantiles;

namespace Reconciliation.Benchmarks.Quantiles;

/// <summary>
/// Cost of recording one latency sample (goal: ≤ 20 ns, 0 B), beside HdrHistogram recording the same samples. The window
/// is measured both as the HTTP listener calls it (with a timestamp from its coarse clock) and with a clock read per sample.
/// Each invocation records <see cref="Batch"/> samples; the figures are per sample.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(QuantileConfig))]
[BenchmarkCategory(Categories.Quantile)]
public class QuantileRecordBenchmarks
{
    /// <summary>Samples per invocation.</summary>
    public const int Batch = 1024;

    // Int counters: empty the estimators now and then so no bucket can overflow over a long run.
    // Once per 2^20 samples, the clear adds well under 0.01 ns per sample.
    private const int InvocationsPerClear = 1024;

    private double[] _seconds = null!;
    private long[] _micros = null!;
    private LatencyHistogram _histogram = null!;
    private SlidingQuantileWindow _window = null!;
    private SlidingQuantileWindow _stampedWindow = null!;
    private CoarseClock _clock = null!;
    private LongHistogram _hdr = null!;
    private LongConcurrentHistogram _hdrConcurrent = null!;
    private int _offset;
    private int _invocations;

    [GlobalSetup]
    public void Setup()
    {
        _seconds = LatencySamples.Seconds;
        _micros = [.. _seconds.Select(LatencySamples.ToMicros)];
        _histogram = new LatencyHistogram();

        // The real clock: Record(seconds) reads it once per sample.
        _window = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, TimeProvider.System);

        // What the HTTP listener does: the same window shape, stamped from its coarse clock on the real clock's timer.
        _stampedWindow = new SlidingQuantileWindow(TimeSpan.FromMinutes(1), 6, TimeProvider.System);
        _clock = new CoarseClock(TimeProvider.System, CoarseClock.ResolutionFor(TimeSpan.FromMinutes(1), 6));
        _hdr = LatencySamples.NewHdr();
        _hdrConcurrent = LatencySamples.NewHdrConcurrent();
        if (!LatencySamples.Errors.AllCounted)
        {
            throw new InvalidOperationException("An estimator lost samples while the accuracy columns were computed.");
        }
    }

    /// <summary>The library's lock-free histogram (two Interlocked increments).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "LatencyHistogram.Record")]
    public void HistogramRecord()
    {
        var histogram = _histogram;
        var samples = _seconds.AsSpan(Next(), Batch);
        foreach (var sample in samples)
        {
            histogram.Record(sample);
        }

        if (++_invocations % InvocationsPerClear == 0)
        {
            histogram.Clear();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _clock.Dispose();

    /// <summary>
    /// What the HTTP latency listener calls per request: the coarse clock's field read, then the slice check, the histogram
    /// bucket and the request count.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "SlidingQuantileWindow.Record(s, timestamp) (listener: coarse clock)")]
    public void WindowRecordStamped()
    {
        var window = _stampedWindow;
        var clock = _clock;
        var samples = _seconds.AsSpan(Next(), Batch);
        foreach (var sample in samples)
        {
            window.Record(sample, clock.Now, failed: false);
        }
    }

    /// <summary>The overload without a timestamp: one clock read per sample, then the same record.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "SlidingQuantileWindow.Record(s) (reads the clock)")]
    public void WindowRecord()
    {
        var window = _window;
        var samples = _seconds.AsSpan(Next(), Batch);
        foreach (var sample in samples)
        {
            window.Record(sample);
        }
    }

    /// <summary>The clock read the window makes per sample (<see cref="TimeProvider.System"/>), alone: the window's floor.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "  clock read alone: TimeProvider.System.GetTimestamp()")]
    public long ClockRead()
    {
        var time = TimeProvider.System;
        long sum = 0;
        for (var i = 0; i < Batch; i++)
        {
            sum += time.GetTimestamp();
        }

        return sum;
    }

    /// <summary>HdrHistogram, single-writer (not thread-safe), same range and resolution.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "HdrHistogram LongHistogram.RecordValue")]
    public void HdrRecord()
    {
        var hdr = _hdr;
        var samples = _micros.AsSpan(Next(), Batch);
        foreach (var sample in samples)
        {
            hdr.RecordValue(sample);
        }
    }

    /// <summary>HdrHistogram's thread-safe variant: the like-for-like comparison with the lock-free histogram.</summary>
    [Benchmark(OperationsPerInvoke = Batch, Description = "HdrHistogram LongConcurrentHistogram.RecordValue")]
    public void HdrConcurrentRecord()
    {
        var hdr = _hdrConcurrent;
        var samples = _micros.AsSpan(Next(), Batch);
        foreach (var sample in samples)
        {
            hdr.RecordValue(sample);
        }
    }

    private int Next()
    {
        var offset = _offset;
        _offset = offset + Batch >= LatencySamples.Count - Batch ? 0 : offset + Batch;
        return offset;
    }
}
