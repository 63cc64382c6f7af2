namespace Reconciliation.Http.Quantiles;

/// <summary>
/// A fixed-size log-linear (HDR-style) histogram of durations in seconds: every power of two from
/// 2<sup>-20</sup> s (about 0.95 µs) to 2<sup>12</sup> s (about 68 minutes) is cut into
/// <see cref="SubBucketCount"/> equal buckets. Recording is O(1), allocation-free and lock-free
/// (one <see cref="Interlocked"/> increment per counter); quantiles come from a walk over the buckets.
/// </summary>
/// <remarks>
/// <para>
/// Error bound. A value <c>x</c> in the octave [2<sup>e</sup>, 2<sup>e+1</sup>) lands in a bucket of width
/// w = 2<sup>e</sup> / 128, so w / x ≤ 1/128 ≈ 0.78 %. A quantile is read as the midpoint of the bucket that holds the
/// sample of that rank, so it is within w / 2 of the exact sample: a relative error of at most
/// 1/256 ≈ 0.39 % (<see cref="RelativeError"/>), inside the 1 % the package promises.
/// </para>
/// <para>
/// Range. Values below <see cref="MinValue"/> (and zero, negative or NaN values) count in the lowest bucket; values at or
/// above <see cref="MaxValue"/> count in the highest. Outside the range the bound does not hold.
/// </para>
/// <para>Memory: <see cref="BucketCount"/> 32-bit counters, 16 KiB, allocated once.</para>
/// </remarks>
public sealed class LatencyHistogram
{
    /// <summary>Bits of the mantissa that pick the bucket inside a power of two: 7, so 128 buckets per octave.</summary>
    public const int SubBucketBits = 7;

    /// <summary>Buckets per power of two: 128.</summary>
    public const int SubBucketCount = 1 << SubBucketBits;

    /// <summary>The exponent of the lowest octave: 2^-20 s.</summary>
    public const int MinExponent = -20;

    /// <summary>The exponent just past the highest octave: 2^12 s.</summary>
    public const int MaxExponent = 12;

    /// <summary>Powers of two covered: 32.</summary>
    public const int OctaveCount = MaxExponent - MinExponent;

    /// <summary>Buckets in all: 4096.</summary>
    public const int BucketCount = OctaveCount * SubBucketCount;

    /// <summary>The largest relative error of a quantile read from this layout: 1/256 (about 0.39 %).</summary>
    public const double RelativeError = 1.0 / (2 * SubBucketCount);

    /// <summary>The bytes one histogram holds in counters (<see cref="BucketCount"/> × 4).</summary>
    public const int CounterBytes = BucketCount * sizeof(int);

    private const int MantissaBits = 52;
    private const int ExponentBias = 1023;

    private readonly int[] _counts = new int[BucketCount];
    private long _count;

    /// <summary>The smallest value recorded with the documented precision: 2^-20 s (about 0.95 µs).</summary>
    public static double MinValue { get; } = Math.ScaleB(1.0, MinExponent);

    /// <summary>The end of the range: 2^12 s (4096 s); larger values count in the highest bucket.</summary>
    public static double MaxValue { get; } = Math.ScaleB(1.0, MaxExponent);

    /// <summary>How many values were recorded since the last <see cref="Clear"/>.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Records one value, in seconds. O(1), allocation-free, safe to call from many threads at once.</summary>
    public void Record(double seconds)
    {
        Interlocked.Increment(ref _counts[BucketIndex(seconds)]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>
    /// The <paramref name="quantile"/> (0..1) of the recorded values, as the nearest-rank sample (the smallest value with at
    /// least <c>ceil(q × n)</c> values at or below it) read to within <see cref="RelativeError"/>; NaN when empty.
    /// </summary>
    public double GetQuantile(double quantile)
    {
        ValidateQuantile(quantile);
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = RankOf(quantile, total);
        long seen = 0;
        var last = -1;
        for (var i = 0; i < BucketCount; i++)
        {
            var count = Volatile.Read(ref _counts[i]);
            if (count == 0)
            {
                continue;
            }

            last = i;
            seen += count;
            if (seen >= rank)
            {
                return BucketMidpoint(i);
            }
        }

        // Counters moved while we walked (a concurrent recorder): the highest non-empty bucket is the honest answer.
        return last < 0 ? double.NaN : BucketMidpoint(last);
    }

    /// <summary>Forgets every value. A value recorded concurrently with the clear may be lost or kept.</summary>
    public void Clear()
    {
        Array.Clear(_counts);
        Volatile.Write(ref _count, 0);
    }

    /// <summary>The bucket <paramref name="seconds"/> falls in: the octave from the exponent, the sub-bucket from the top mantissa bits.</summary>
    public static int BucketIndex(double seconds)
    {
        if (!(seconds >= MinValue))
        {
            return 0;
        }

        if (seconds >= MaxValue)
        {
            return BucketCount - 1;
        }

        var bits = BitConverter.DoubleToInt64Bits(seconds);
        var exponent = (int)((bits >> MantissaBits) & 0x7FF) - ExponentBias;
        var sub = (int)((bits >> (MantissaBits - SubBucketBits)) & (SubBucketCount - 1));
        return ((exponent - MinExponent) << SubBucketBits) | sub;
    }

    /// <summary>The smallest value of bucket <paramref name="index"/>.</summary>
    public static double BucketLowerBound(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        var octave = index >> SubBucketBits;
        var sub = index & (SubBucketCount - 1);
        return Math.ScaleB(1.0 + ((double)sub / SubBucketCount), octave + MinExponent);
    }

    /// <summary>The width of bucket <paramref name="index"/>: 1/128 of its octave's lower bound.</summary>
    public static double BucketWidth(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        return Math.ScaleB(1.0 / SubBucketCount, (index >> SubBucketBits) + MinExponent);
    }

    /// <summary>The value a quantile in bucket <paramref name="index"/> reads as: the bucket's midpoint.</summary>
    public static double BucketMidpoint(int index) => BucketLowerBound(index) + (BucketWidth(index) / 2);

    /// <summary>The nearest rank (from 1) of <paramref name="quantile"/> among <paramref name="count"/> values: <c>max(1, ceil(q × n))</c>.</summary>
    public static long RankOf(double quantile, long count)
    {
        var rank = (long)Math.Ceiling(quantile * count);
        return Math.Clamp(rank, 1, Math.Max(1, count));
    }

    /// <summary>Counts <paramref name="seconds"/> in its bucket but not in <see cref="Count"/>: for an owner that counts samples itself.</summary>
    internal void RecordValueOnly(double seconds) => Interlocked.Increment(ref _counts[BucketIndex(seconds)]);

    internal int CountAt(int index) => Volatile.Read(ref _counts[index]);

    internal static void ValidateQuantile(double quantile)
    {
        if (!(quantile >= 0 && quantile <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "A quantile is between 0 and 1 (0.99 for p99).");
        }
    }
}
