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
    private double[] _min = [];
    private double[] _max = [];
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
                    for (var slot = 0; slot < values.Length; slot++)
                    {
                        _min[(slot * Capacity) + position] = double.NaN;
                        _max[(slot * Capacity) + position] = double.NaN;
                    }
                }

                _newest = bucket;
            }

            if (bucket == _newest)
            {
                var at = (int)(bucket % Capacity);
                for (var slot = 0; slot < values.Length; slot++)
                {
                    var value = values[slot];
                    if (double.IsNaN(value))
                    {
                        continue;
                    }

                    var i = (slot * Capacity) + at;
                    _min[i] = double.IsNaN(_min[i]) ? value : Math.Min(_min[i], value);
                    _max[i] = double.IsNaN(_max[i]) ? value : Math.Max(_max[i], value);
                }
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

                var i = (slot * Capacity) + (int)(bucket % Capacity);
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
