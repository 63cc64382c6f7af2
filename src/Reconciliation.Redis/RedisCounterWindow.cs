namespace Reconciliation.Redis;

/// <summary>
/// Turns Redis's lifetime counters into windowed readings: the hit ratio over a sliding time window and the eviction rate
/// since the previous sample. A restarted server (its <c>run_id</c> changed, or a counter went down) starts the window
/// afresh, so a reset never yields a negative or huge rate. Time comes from the caller's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RedisCounterWindow
{
    /// <summary>Two samples closer than this give no rate: a burst of on-demand ticks must not divide by almost nothing.</summary>
    internal static readonly TimeSpan MinRateInterval = TimeSpan.FromSeconds(1);

    /// <summary>Bounds memory when ticks are far more frequent than the window is long.</summary>
    private const int MaxSamples = 4096;

    private readonly TimeSpan _window;
    private readonly Queue<Sample> _samples = new();
    private Sample? _previous;
    private string? _runId;

    public RedisCounterWindow(TimeSpan window) => _window = window;

    /// <summary>Adds a sample taken at <paramref name="now"/> and returns the readings; null where there is none.</summary>
    public Readings Add(DateTimeOffset now, in RedisInfo info, out string? resetCause)
    {
        resetCause = null;
        if (info.KeyspaceHits < 0 || info.KeyspaceMisses < 0 || info.EvictedKeys < 0)
        {
            return default;
        }

        var current = new Sample(now, info.KeyspaceHits, info.KeyspaceMisses, info.EvictedKeys);
        if (_previous is { } previous)
        {
            if (info.RunId is not null && _runId is not null && !string.Equals(info.RunId, _runId, StringComparison.Ordinal))
            {
                resetCause = "the server restarted: run_id changed";
            }
            else if (current.Hits < previous.Hits || current.Misses < previous.Misses || current.Evicted < previous.Evicted)
            {
                resetCause = "counters went down: the server restarted or CONFIG RESETSTAT ran";
            }
            else if (now < previous.At)
            {
                resetCause = "the clock went back";
            }
        }

        _runId = info.RunId ?? _runId;
        if (resetCause is not null || _previous is null)
        {
            // A fresh start: this sample is the new baseline, there is no reading until the next one.
            _samples.Clear();
            _samples.Enqueue(current);
            _previous = current;
            return default;
        }

        double? evictionsRate = null;
        var elapsed = now - _previous.Value.At;
        if (elapsed >= MinRateInterval)
        {
            evictionsRate = (current.Evicted - _previous.Value.Evicted) / elapsed.TotalSeconds;
            _previous = current;
        }

        // The baseline is the newest sample at or before the window's start (so the reading covers at least the window,
        // even when the window is shorter than the tick interval), or the oldest one while the window is still filling.
        var start = now - _window;
        while (_samples.Count > 1 && SecondAt() <= start)
        {
            _samples.Dequeue();
        }

        double? hitRatio = null;
        if (_samples.Count > 0)
        {
            var baseline = _samples.Peek();
            var hits = current.Hits - baseline.Hits;
            var total = hits + (current.Misses - baseline.Misses);
            if (total > 0)
            {
                hitRatio = (double)hits / total;
            }
        }

        if (_samples.Count >= MaxSamples)
        {
            _samples.Dequeue();
        }

        if (elapsed >= MinRateInterval || _samples.Count == 0)
        {
            _samples.Enqueue(current);
        }

        return new Readings(hitRatio, evictionsRate);
    }

    private DateTimeOffset SecondAt()
    {
        using var e = _samples.GetEnumerator();
        e.MoveNext();
        e.MoveNext();
        return e.Current.At;
    }

    /// <summary>Readings derived from the counters; null = no reading.</summary>
    internal readonly record struct Readings(double? HitRatio, double? EvictionsRate);

    private readonly record struct Sample(DateTimeOffset At, long Hits, long Misses, long Evicted);
}
