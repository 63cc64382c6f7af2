using System.Runtime.Intrinsics;
using Reconciliation.Status;

namespace Reconciliation;

/// <summary>
/// The last hour of every signal for the status page, and the last violation opens and closes: fixed ring buffers,
/// sized once on the first tick, so recording allocates nothing per tick. Each slot keeps one bucket per
/// <see cref="Step"/> (the lowest and the highest reading in it, so a spike between two samples is not lost);
/// <see cref="Capacity"/> buckets cover an hour whatever the tick interval.
/// </summary>
/// <remarks>
/// Written by the tick (one call, under the engine's tick gate), read by the status page from other threads: one lock,
/// held for a copy of one slot on read and for one pass over the values on write.
/// </remarks>
internal sealed class SignalHistory
{
    /// <summary>Buckets per signal: an hour of <see cref="Step"/>s.</summary>
    public const int Capacity = 120;

    /// <summary>Violation opens and closes kept for the timeline.</summary>
    public const int TimelineCapacity = 200;

    /// <summary>The width of one bucket.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly TimelineEntry[] _timeline = new TimelineEntry[TimelineCapacity];
    private SignalTable? _table;
    // Bucket-major: bucket position b holds every slot's reading at [b * _width, (b + 1) * _width), so a tick updates one
    // contiguous span per array (vectorized) and clearing a bucket is one fill.
    private double[] _min = [];
    private double[] _max = [];
    private int _width;
    private long _newest = long.MinValue; // the newest bucket's number (UTC ticks / Step)
    private int _timelineNext;
    private int _timelineCount;

    /// <summary>
    /// Records the tick's readings and the violations its evaluation opens and closes (call right after
    /// <see cref="RuleEvaluator.Evaluate"/>, which fills <see cref="RuleEvaluator.Opened"/> and <see cref="RuleEvaluator.Closed"/>).
    /// </summary>
    public void Record(SignalTable table, RuleEvaluator evaluator, DateTimeOffset now)
    {
        var bucket = now.UtcTicks / Step.Ticks;
        var values = table.Values;
        lock (_gate)
        {
            if (!ReferenceEquals(_table, table))
            {
                // Sized once: the engine's table is fixed for its life.
                _table = table;
                _width = table.Count;
                _min = new double[table.Count * Capacity];
                _max = new double[table.Count * Capacity];
                Array.Fill(_min, double.NaN);
                Array.Fill(_max, double.NaN);
                _newest = bucket;
            }

            if (bucket > _newest)
            {
                // Buckets the clock skipped (no tick in them) are cleared, at most one full turn.
                var clear = (int)Math.Min(bucket - _newest, Capacity);
                for (var b = bucket - clear + 1; b <= bucket; b++)
                {
                    var position = (int)(b % Capacity);
                    _min.AsSpan(position * _width, _width).Fill(double.NaN);
                    _max.AsSpan(position * _width, _width).Fill(double.NaN);
                }

                _newest = bucket;
            }

            if (bucket == _newest)
            {
                var at = (int)(bucket % Capacity) * _width;
                Widen(values.AsSpan(0, _width), _min.AsSpan(at, _width), _max.AsSpan(at, _width));
            }

            foreach (var index in evaluator.Opened)
            {
                var instance = evaluator.Instances[index];
                Append(new TimelineEntry(now, TimelineEntry.Opened, instance.Rule.Name, instance.Resource, Reading(values[instance.Slot])));
            }

            foreach (var index in evaluator.Closed)
            {
                var instance = evaluator.Instances[index];
                Append(new TimelineEntry(now, TimelineEntry.Closed, instance.Rule.Name, instance.Resource, Reading(values[instance.Slot])));
            }
        }
    }

    /// <summary>
    /// Widens each slot's bucket to take in its reading: a missing reading (NaN) changes nothing, and an empty bucket (NaN)
    /// takes the reading as both its lowest and its highest. Four slots at a time where the hardware has it.
    /// </summary>
    private static void Widen(ReadOnlySpan<double> values, Span<double> min, Span<double> max)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                var value = Vector256.Create(values.Slice(i, Vector256<double>.Count));
                var low = Vector256.Create(min.Slice(i, Vector256<double>.Count));
                var high = Vector256.Create(max.Slice(i, Vector256<double>.Count));
                var hasValue = Vector256.Equals(value, value); // false for NaN
                var lowEmpty = ~Vector256.Equals(low, low);
                var highEmpty = ~Vector256.Equals(high, high);
                var newLow = Vector256.ConditionalSelect(lowEmpty, value, Vector256.Min(low, value));
                var newHigh = Vector256.ConditionalSelect(highEmpty, value, Vector256.Max(high, value));
                Vector256.ConditionalSelect(hasValue, newLow, low).CopyTo(min.Slice(i));
                Vector256.ConditionalSelect(hasValue, newHigh, high).CopyTo(max.Slice(i));
            }
        }

        for (; i < values.Length; i++)
        {
            var value = values[i];
            if (double.IsNaN(value))
            {
                continue;
            }

            min[i] = double.IsNaN(min[i]) ? value : Math.Min(min[i], value);
            max[i] = double.IsNaN(max[i]) ? value : Math.Max(max[i], value);
        }
    }

    /// <summary>
    /// The last hour of slot <paramref name="slot"/>, oldest bucket first; <see langword="null"/> before the first tick or
    /// when that slot is not (<paramref name="signal"/>, <paramref name="resource"/>).
    /// </summary>
    public SignalHistoryStatus? Read(int slot, string signal, string resource)
    {
        lock (_gate)
        {
            if (_table is not { } table || (uint)slot >= (uint)table.Count
                || !string.Equals(table.Names[slot], signal, StringComparison.Ordinal) || !string.Equals(table.Resources[slot], resource, StringComparison.Ordinal))
            {
                return null;
            }

            var min = new double?[Capacity];
            var max = new double?[Capacity];
            for (var k = 0; k < Capacity; k++)
            {
                var bucket = _newest - Capacity + 1 + k;
                if (bucket < 0)
                {
                    continue;
                }

                var i = ((int)(bucket % Capacity) * _width) + slot;
                min[k] = double.IsNaN(_min[i]) ? null : _min[i];
                max[k] = double.IsNaN(_max[i]) ? null : _max[i];
            }

            var start = new DateTimeOffset((_newest - Capacity + 1) * Step.Ticks, TimeSpan.Zero);
            return new SignalHistoryStatus(start, Step.TotalSeconds, min, max);
        }
    }

    /// <summary>The violation opens and closes kept, oldest first.</summary>
    public IReadOnlyList<TimelineEntry> Timeline()
    {
        lock (_gate)
        {
            var entries = new TimelineEntry[_timelineCount];
            var first = (_timelineNext - _timelineCount + TimelineCapacity) % TimelineCapacity;
            for (var k = 0; k < _timelineCount; k++)
            {
                entries[k] = _timeline[(first + k) % TimelineCapacity];
            }

            return entries;
        }
    }

    private static double? Reading(double value) => double.IsNaN(value) ? null : value;

    private void Append(TimelineEntry entry)
    {
        _timeline[_timelineNext] = entry;
        _timelineNext = (_timelineNext + 1) % TimelineCapacity;
        _timelineCount = Math.Min(_timelineCount + 1, TimelineCapacity);
    }
}
