namespace Reconciliation.Http.Quantiles;

/// <summary>
/// Quantiles, request and failure counts over a sliding time window, in fixed memory: the window is cut into
/// <see cref="SliceCount"/> slices, each a <see cref="LatencyHistogram"/>; the slice for "now" (from
/// <see cref="TimeProvider.GetTimestamp"/>) takes the records, and a slice is cleared and reused when its time comes round
/// again. A read sums the slices whose time is inside the window, so old samples leave it slice by slice.
/// </summary>
/// <remarks>
/// <para>
/// Recording is O(1), allocation-free and lock-free: two <see cref="Interlocked"/> increments (three for a failure). A caller
/// that already holds a timestamp (<see cref="Record(double, long, bool)"/>) saves the clock read; the slice is found by
/// checking that timestamp against the slice that took the previous record, so the division that maps a time to its slice
/// runs only when a new slice begins. Only the first record of a new slice clears it (16 KiB); a recorder that arrives
/// during that clear spins for the microsecond it takes. A record made by a thread stalled for a whole window may count in
/// a newer slice, or be lost to that slice's clear: harmless for latency monitoring.
/// </para>
/// <para>
/// The window covers the current (partly filled) slice and the <see cref="SliceCount"/> − 1 before it, so between
/// (n − 1)/n and all of <see cref="Window"/>. Quantiles carry <see cref="LatencyHistogram.RelativeError"/>.
/// </para>
/// <para>Memory: <see cref="MemoryBytes"/> (about 16 KiB per slice), allocated once at construction.</para>
/// </remarks>
public sealed class SlidingQuantileWindow
{
    /// <summary>The most slices a window may have (a read tracks them in one 64-bit mask).</summary>
    public const int MaxSlices = 64;

    private const long Unused = -1;
    private const long Clearing = -2;

    // Object header, fields and the counter array's header of one slice, beyond its counters.
    private const int SliceOverheadBytes = 120;

    private readonly TimeProvider _time;
    private readonly long _sliceTicks;
    private readonly Slice[] _slices;

    // The slice that took the latest record: a record whose timestamp falls in its epoch goes straight to it.
    private Slice _current;

    /// <summary>Creates a window of <paramref name="window"/> cut into <paramref name="slices"/> slices, on <paramref name="timeProvider"/>'s clock.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not positive, or slices is not between 1 and <see cref="MaxSlices"/>.</exception>
    public SlidingQuantileWindow(TimeSpan window, int slices, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slices, MaxSlices);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        Window = window;
        _sliceTicks = Math.Max(1, (long)(window.TotalSeconds / slices * timeProvider.TimestampFrequency));
        _slices = new Slice[slices];
        for (var i = 0; i < slices; i++)
        {
            _slices[i] = new Slice();
        }

        _current = _slices[0];
    }

    /// <summary>The span the window covers.</summary>
    public TimeSpan Window { get; }

    /// <summary>How many slices the window rotates through.</summary>
    public int SliceCount => _slices.Length;

    /// <summary>The memory the window holds, in bytes (counters plus per-slice overhead); it never grows.</summary>
    public long MemoryBytes => BytesFor(_slices.Length);

    /// <summary>Latency samples in the window.</summary>
    public long Count
    {
        get
        {
            var mask = LiveSlices();
            long total = 0;
            for (var i = 0; i < _slices.Length; i++)
            {
                if ((mask & (1UL << i)) != 0)
                {
                    total += _slices[i].Samples;
                }
            }

            return total;
        }
    }

    /// <summary>Requests in the window: every <c>Record</c> and <see cref="RecordFailure()"/>.</summary>
    public long Requests => Sum(static s => Volatile.Read(ref s.Requests));

    /// <summary>Failed requests in the window.</summary>
    public long Failures => Sum(static s => Volatile.Read(ref s.Failures));

    /// <summary>The share of failed requests in the window (0..1), or NaN when it holds none.</summary>
    public double FailureRatio
    {
        get
        {
            var requests = Requests;
            return requests == 0 ? double.NaN : Math.Min(1.0, (double)Failures / requests);
        }
    }

    /// <summary>The bytes a window of <paramref name="slices"/> slices holds.</summary>
    public static long BytesFor(int slices) => (long)slices * (LatencyHistogram.CounterBytes + SliceOverheadBytes);

    /// <summary>Records one request that took <paramref name="seconds"/>, ending now; <paramref name="failed"/> counts it as a failure too.</summary>
    /// <remarks>Reads the clock once. A caller that holds the request's end timestamp calls <see cref="Record(double, long, bool)"/> instead.</remarks>
    public void Record(double seconds, bool failed = false) => Record(seconds, _time.GetTimestamp(), failed);

    /// <summary>
    /// Records one request that took <paramref name="seconds"/> and ended at <paramref name="timestamp"/>;
    /// <paramref name="failed"/> counts it as a failure too. No clock read.
    /// </summary>
    /// <param name="seconds">The request's latency.</param>
    /// <param name="timestamp">
    /// When the request ended, as read from <see cref="TimeProvider.GetTimestamp"/> of the <see cref="TimeProvider"/> this
    /// window was built with (a timestamp of another clock puts the sample in the wrong slice). The sample counts in the
    /// slice of that time: a timestamp older than the window is counted but never read.
    /// </param>
    /// <param name="failed">Whether the request failed.</param>
    public void Record(double seconds, long timestamp, bool failed)
    {
        var slice = SliceAt(timestamp);
        slice.Histogram.RecordValueOnly(seconds);
        Interlocked.Increment(ref slice.Requests);
        if (failed)
        {
            Interlocked.Increment(ref slice.Failures);
        }
    }

    /// <summary>Records a failed request that has no latency (the connection was refused), ending now.</summary>
    public void RecordFailure() => RecordFailure(_time.GetTimestamp());

    /// <summary>Records a failed request that has no latency (the connection was refused), ended at <paramref name="timestamp"/>.</summary>
    /// <param name="timestamp">When the request ended, from the window's <see cref="TimeProvider.GetTimestamp"/> (see <see cref="Record(double, long, bool)"/>).</param>
    public void RecordFailure(long timestamp)
    {
        var slice = SliceAt(timestamp);

        // Requests before Unmeasured, read in the opposite order: a reader never sees more unmeasured requests than requests.
        Interlocked.Increment(ref slice.Requests);
        Interlocked.Increment(ref slice.Unmeasured);
        Interlocked.Increment(ref slice.Failures);
    }

    /// <summary>The <paramref name="quantile"/> (0..1) of the latencies in the window (nearest rank, within <see cref="LatencyHistogram.RelativeError"/>), or NaN when it holds none.</summary>
    public double GetQuantile(double quantile)
    {
        LatencyHistogram.ValidateQuantile(quantile);
        var mask = LiveSlices();
        long total = 0;
        for (var s = 0; s < _slices.Length; s++)
        {
            if ((mask & (1UL << s)) != 0)
            {
                total += _slices[s].Samples;
            }
        }

        if (total == 0)
        {
            return double.NaN;
        }

        var rank = LatencyHistogram.RankOf(quantile, total);
        long seen = 0;
        var last = -1;
        for (var i = 0; i < LatencyHistogram.BucketCount; i++)
        {
            long count = 0;
            for (var s = 0; s < _slices.Length; s++)
            {
                if ((mask & (1UL << s)) != 0)
                {
                    count += _slices[s].Histogram.CountAt(i);
                }
            }

            if (count == 0)
            {
                continue;
            }

            last = i;
            seen += count;
            if (seen >= rank)
            {
                return LatencyHistogram.BucketMidpoint(i);
            }
        }

        return last < 0 ? double.NaN : LatencyHistogram.BucketMidpoint(last);
    }

    private long CurrentEpoch() => EpochOf(_time.GetTimestamp());

    // Timestamps are not negative (Stopwatch's never are); clamping keeps epochs clear of the negative sentinels anyway.
    private long EpochOf(long timestamp) => Math.Max(0, timestamp) / _sliceTicks;

    private Slice SliceAt(long timestamp)
    {
        // Fast path: the timestamp lies in the epoch of the slice that took the latest record. The sentinel epochs (Unused,
        // Clearing) are negative, so for a timestamp ≥ 0 the difference is at least one slice and the check fails.
        var slice = Volatile.Read(ref _current);
        var epoch = Volatile.Read(ref slice.Epoch);
        if (unchecked((ulong)(timestamp - (epoch * _sliceTicks))) < (ulong)_sliceTicks)
        {
            return slice;
        }

        return SliceAtSlow(timestamp);
    }

    private Slice SliceAtSlow(long timestamp)
    {
        var epoch = EpochOf(timestamp);
        var slice = _slices[(int)(epoch % _slices.Length)];
        if (Volatile.Read(ref slice.Epoch) != epoch)
        {
            slice = Claim(slice, epoch);
        }

        // The newest slice becomes the fast path's; a late record (an older epoch) leaves it alone. Two recorders racing here
        // can only make the next record take this slow path once more.
        if (Volatile.Read(ref slice.Epoch) == epoch && epoch > Volatile.Read(ref Volatile.Read(ref _current).Epoch))
        {
            Volatile.Write(ref _current, slice);
        }

        return slice;
    }

    private static Slice Claim(Slice slice, long epoch)
    {
        var spin = default(SpinWait);
        while (true)
        {
            var seen = Volatile.Read(ref slice.Epoch);
            if (seen >= epoch)
            {
                // Ours, or already reused by a newer slice (this thread was stalled): count it there.
                return slice;
            }

            if (seen != Clearing && Interlocked.CompareExchange(ref slice.Epoch, Clearing, seen) == seen)
            {
                // We won the slice for the new epoch: empty it before anyone records into it.
                slice.Histogram.Clear();
                Volatile.Write(ref slice.Requests, 0);
                Volatile.Write(ref slice.Unmeasured, 0);
                Volatile.Write(ref slice.Failures, 0);
                Volatile.Write(ref slice.Epoch, epoch);
                return slice;
            }

            spin.SpinOnce();
        }
    }

    /// <summary>A bit per slice whose epoch lies in the window ending at the current epoch.</summary>
    private ulong LiveSlices()
    {
        var now = CurrentEpoch();
        ulong mask = 0;
        for (var i = 0; i < _slices.Length; i++)
        {
            var epoch = Volatile.Read(ref _slices[i].Epoch);
            if (epoch >= 0 && epoch <= now && now - epoch < _slices.Length)
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    private long Sum(Func<Slice, long> read)
    {
        var mask = LiveSlices();
        long total = 0;
        for (var i = 0; i < _slices.Length; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                total += read(_slices[i]);
            }
        }

        return total;
    }

    private sealed class Slice
    {
#pragma warning disable SA1401, CA1051 // fields, so Interlocked and Volatile can take them by reference
        public long Epoch = Unused;
        public long Requests;
        public long Failures;

        // Requests without a latency (RecordFailure): the slice's samples are Requests − Unmeasured, so a record with a
        // latency pays for one request counter instead of a request counter and a sample counter.
        public long Unmeasured;
#pragma warning restore SA1401, CA1051
        public readonly LatencyHistogram Histogram = new();

        /// <summary>Latency samples in the slice.</summary>
        public long Samples
        {
            get
            {
                var unmeasured = Volatile.Read(ref Unmeasured);
                return Volatile.Read(ref Requests) - unmeasured;
            }
        }
    }
}
