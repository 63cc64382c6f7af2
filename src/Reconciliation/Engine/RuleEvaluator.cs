using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Reconciliation;

/// <summary>
/// The hot path: evaluates every rule instance over the tick's readings, allocating nothing, and records which
/// instances change state (<see cref="Opened"/>, <see cref="Closed"/>).
/// </summary>
/// <remarks>
/// <para>
/// At construction the instances are compiled into parallel arrays (struct-of-arrays), in slot order: the slot each
/// reads, the direction as a sign (+1 for <c>Above</c>, −1 for <c>Below</c>), and the limit multiplied by that sign,
/// so "healthy" is one comparison for both directions: <c>value × sign ≤ signed limit</c>. An instance that is
/// <em>active</em> (a breach is being timed, or a violation is open) has NaN in place of its limit, and a missing
/// reading is NaN too; every comparison with NaN is false, so exactly the readings that need a decision fall out of
/// the one comparison. Only those reach <see cref="Decide"/>, which touches the <see cref="RuleInstance"/> object and
/// applies the full semantics (hysteresis, <c>For</c> timing with missing readings not counting). A healthy tick
/// reads four arrays and no object.
/// </para>
/// <para>
/// Runs of at least four instances over consecutive slots (one rule per signal of a probe, or one rule across the
/// resources ordered by slot) are compared four at a time with <see cref="Vector256"/> where the hardware has it.
/// </para>
/// <para>
/// The instances stay in <see cref="Instances"/> in their build order, and <see cref="Opened"/>/<see cref="Closed"/>
/// hold indices into it in ascending order, exactly as a plain loop over <see cref="Instances"/> would report them.
/// Each instance reports its own state changes to the evaluator that adopted it last (see
/// <see cref="RuleInstance.AttachTo"/>). When a new evaluator adopts an instance (a reload), the one it leaves is marked
/// stale; should that one be evaluated again (a reload that failed after compiling), it first adopts its instances back
/// and recompiles them, so it never decides on outdated arrays.
/// </para>
/// </remarks>
internal sealed class RuleEvaluator
{
    private const int Lanes = 4; // Vector256<double>.Count
    private const int MinimumRun = 4;

    private readonly int[] _opened;
    private readonly int[] _closed;

    // Indexed by position (evaluation order: by slot, then by build order).
    private readonly int[] _instanceAt;
    private readonly int[] _slots;
    private readonly double[] _signs;
    private readonly double[] _signedLimits;
    private readonly double[] _healthyUpTo; // the signed limit, or NaN while the instance is active

    // Consecutive ranges of positions: either a run over consecutive slots (compared four at a time) or scattered.
    private readonly Segment[] _segments;
    private readonly int _valuesNeeded;
    private readonly bool _reorders;
    private bool _stale;

    public RuleEvaluator(RuleInstance[] instances)
    {
        ArgumentNullException.ThrowIfNull(instances);
        Instances = instances;
        var count = instances.Length;
        _opened = new int[count];
        _closed = new int[count];
        _instanceAt = new int[count];
        _slots = new int[count];
        _signs = new double[count];
        _signedLimits = new double[count];
        _healthyUpTo = new double[count];

        // Stable sort by slot: the key carries the build index in its low bits.
        var keys = new long[count];
        for (var i = 0; i < count; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(instances[i].Slot);
            keys[i] = ((long)instances[i].Slot << 32) | (uint)i;
        }

        Array.Sort(keys);
        for (var position = 0; position < count; position++)
        {
            var index = (int)(keys[position] & uint.MaxValue);
            _instanceAt[position] = index;
            _slots[position] = instances[index].Slot;
            _reorders |= index != position;
            _valuesNeeded = Math.Max(_valuesNeeded, _slots[position] + 1);
        }

        Adopt();

        _segments = Segment.Split(_slots, Vector256.IsHardwareAccelerated ? MinimumRun : int.MaxValue);
    }

    public RuleInstance[] Instances { get; }

    public int OpenedCount { get; private set; }

    /// <summary>
    /// Instances that are active (a breach is being timed, or a violation is open). Zero on a healthy tick, so the engine
    /// skips everything that only open violations need without touching an instance.
    /// </summary>
    public int ActiveCount { get; private set; }

    public int ClosedCount { get; private set; }

    /// <summary>Indices into <see cref="Instances"/> of instances whose violation should open this tick, ascending.</summary>
    public ReadOnlySpan<int> Opened => _opened.AsSpan(0, OpenedCount);

    /// <summary>Indices into <see cref="Instances"/> of instances whose violation should close this tick, ascending.</summary>
    public ReadOnlySpan<int> Closed => _closed.AsSpan(0, ClosedCount);

    /// <summary>Compares the tick's readings (<paramref name="values"/>, NaN = no reading) with every rule instance.</summary>
    public void Evaluate(double[] values, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length < _valuesNeeded)
        {
            throw new ArgumentException($"The rules read {_valuesNeeded} slots; the table has {values.Length}.", nameof(values));
        }

        if (_stale)
        {
            Adopt();
        }

        OpenedCount = 0;
        ClosedCount = 0;

        // Every slot < _valuesNeeded <= values.Length and every position < the arrays' common length (checked above
        // and at construction), so the reads below skip the per-element bounds checks.
        ref var value0 = ref MemoryMarshal.GetArrayDataReference(values);
        ref var slot0 = ref MemoryMarshal.GetArrayDataReference(_slots);
        ref var sign0 = ref MemoryMarshal.GetArrayDataReference(_signs);
        ref var healthy0 = ref MemoryMarshal.GetArrayDataReference(_healthyUpTo);
        foreach (var segment in _segments)
        {
            var position = segment.Start;
            var end = segment.Start + segment.Length;
            if (segment.IsRun)
            {
                // Slots are consecutive: the reading of position p is at values[p + delta].
                var delta = Unsafe.Add(ref slot0, position) - position;
                for (; position <= end - Lanes; position += Lanes)
                {
                    var signed = Vector256.LoadUnsafe(ref value0, (nuint)(position + delta)) * Vector256.LoadUnsafe(ref sign0, (nuint)position);
                    var healthy = Vector256.LessThanOrEqual(signed, Vector256.LoadUnsafe(ref healthy0, (nuint)position));
                    var needsDecision = ~healthy.ExtractMostSignificantBits() & ((1u << Lanes) - 1);
                    while (needsDecision != 0)
                    {
                        var lane = BitOperations.TrailingZeroCount(needsDecision);
                        Decide(position + lane, Unsafe.Add(ref value0, position + delta + lane), now);
                        needsDecision &= needsDecision - 1;
                    }
                }
            }

            for (; position < end; position++)
            {
                var value = Unsafe.Add(ref value0, Unsafe.Add(ref slot0, position));
                if (!(value * Unsafe.Add(ref sign0, position) <= Unsafe.Add(ref healthy0, position)))
                {
                    Decide(position, value, now);
                }
            }
        }

        if (_reorders)
        {
            // Evaluated by slot; reported in build order, as the engine has always seen them.
            _opened.AsSpan(0, OpenedCount).Sort();
            _closed.AsSpan(0, ClosedCount).Sort();
        }
    }

    /// <summary>Builds the instances of <paramref name="rules"/> over <paramref name="table"/>, carrying state over from <paramref name="previous"/>.</summary>
    public static RuleInstance[] Build(IReadOnlyList<CompiledRule> rules, SignalTable table, RuleInstance[]? previous)
    {
        // The live instances by slot, each carried over at most once.
        var carriedBySlot = new Dictionary<int, List<RuleInstance>>();
        foreach (var instance in previous ?? [])
        {
            if (!carriedBySlot.TryGetValue(instance.Slot, out var list))
            {
                carriedBySlot.Add(instance.Slot, list = []);
            }

            list.Add(instance);
        }

        var instances = new List<RuleInstance>();
        foreach (var rule in rules)
        {
            for (var slot = 0; slot < table.Count; slot++)
            {
                if (!string.Equals(table.Names[slot], rule.Signal, StringComparison.Ordinal)
                    || (rule.Resource is not null && !string.Equals(table.Resources[slot], rule.Resource, StringComparison.Ordinal)))
                {
                    continue;
                }

                var carried = carriedBySlot.TryGetValue(slot, out var candidates) ? Take(candidates, rule) : null;
                if (carried is not null)
                {
                    carried.Rule = rule; // new thresholds apply from now on; breach and violation state carry over
                    instances.Add(carried);
                }
                else
                {
                    instances.Add(new RuleInstance(rule, slot, table.Resources[slot]));
                }
            }
        }

        return [.. instances];

        static RuleInstance? Take(List<RuleInstance> candidates, CompiledRule rule)
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                if (candidates[i].Rule.SameIdentity(rule))
                {
                    var found = candidates[i];
                    candidates.RemoveAt(i);
                    return found;
                }
            }

            return null;
        }
    }

    /// <summary>Another evaluator adopted one of this evaluator's instances.</summary>
    internal void MarkStale() => _stale = true;

    /// <summary>Attaches every instance to this evaluator and compiles its direction, limit and activity.</summary>
    private void Adopt()
    {
        _stale = false;
        for (var position = 0; position < _instanceAt.Length; position++)
        {
            Instances[_instanceAt[position]].AttachTo(this, position);
            Recompile(position);
        }
    }

    /// <summary>The instance at <paramref name="position"/> got a new rule: recompile its direction and limit.</summary>
    internal void Recompile(int position)
    {
        var rule = Instances[_instanceAt[position]].Rule;
        _signs[position] = rule.IsAbove ? 1 : -1;
        _signedLimits[position] = rule.IsAbove ? rule.Limit : -rule.Limit;
        Refresh(position);
    }

    /// <summary>The instance at <paramref name="position"/> started or stopped being active (breaching or open).</summary>
    internal void Refresh(int position)
    {
        // NaN in _healthyUpTo marks an active position (limits are finite), so the count follows every transition.
        var wasActive = double.IsNaN(_healthyUpTo[position]);
        var active = Instances[_instanceAt[position]].IsActive;
        _healthyUpTo[position] = active ? double.NaN : _signedLimits[position];
        if (active != wasActive)
        {
            ActiveCount += active ? 1 : -1;
        }
    }

    /// <summary>
    /// The full decision for one instance whose reading breached, is missing, or that is active. Every change to the
    /// instance's <c>Breaching</c> or <c>Violation</c> goes through its setters, which call <see cref="Refresh"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Decide(int position, double value, DateTimeOffset now)
    {
        var index = _instanceAt[position];
        var instance = Instances[index];
        if (double.IsNaN(value))
        {
            // No reading: opens nothing, closes nothing, and the time until the next reading does not count toward For.
            if (instance.Breaching)
            {
                instance.Gap = true;
            }

            return;
        }

        var rule = instance.Rule;
        var violation = instance.Violation;
        if (violation is not null)
        {
            violation.Observed = value;
            if (!rule.IsCleared(value))
            {
                violation.ClearedSince = null;
                return;
            }

            if (rule.KeepFor > TimeSpan.Zero)
            {
                // KeepFor (Prometheus' keep_firing_for): the violation closes only once the signal stayed clear that long.
                violation.ClearedSince ??= now;
                if (now - violation.ClearedSince.Value < rule.KeepFor)
                {
                    return;
                }
            }

            _closed[ClosedCount++] = index;
            return;
        }

        if (!rule.IsBreach(value))
        {
            if (instance.Breaching)
            {
                instance.ResetBreach();
            }

            return;
        }

        if (instance.Breaching && !instance.Gap)
        {
            instance.Accumulated += now - instance.LastBreachAt;
        }

        instance.Breaching = true;
        instance.Gap = false;
        instance.LastBreachAt = now;
        if (instance.Accumulated >= rule.For)
        {
            _opened[OpenedCount++] = index;
        }
    }

    /// <summary>A range of positions; <see cref="IsRun"/> when their slots are consecutive (and it is long enough to vectorize).</summary>
    private readonly record struct Segment(int Start, int Length, bool IsRun)
    {
        public static Segment[] Split(int[] slots, int minimumRun)
        {
            var segments = new List<Segment>();
            var scatteredStart = 0;
            var position = 0;
            while (position < slots.Length)
            {
                var runEnd = position + 1;
                while (runEnd < slots.Length && slots[runEnd] == slots[runEnd - 1] + 1)
                {
                    runEnd++;
                }

                if (runEnd - position >= minimumRun)
                {
                    if (position > scatteredStart)
                    {
                        segments.Add(new Segment(scatteredStart, position - scatteredStart, IsRun: false));
                    }

                    segments.Add(new Segment(position, runEnd - position, IsRun: true));
                    scatteredStart = runEnd;
                }

                position = runEnd;
            }

            if (slots.Length > scatteredStart)
            {
                segments.Add(new Segment(scatteredStart, slots.Length - scatteredStart, IsRun: false));
            }

            return [.. segments];
        }
    }
}
