
namespace Reconciliation;

/// <summary>
/// The hot path: evaluates every rule instance over the tick's readings. Rules were compiled to slot indices at
/// start, so this is a loop over arrays; it allocates nothing and only records which instances change state.
/// </summary>
internal sealed class RuleEvaluator
{
    private readonly int[] _opened;
    private readonly int[] _closed;

    public RuleEvaluator(RuleInstance[] instances)
    {
        Instances = instances;
        _opened = new int[instances.Length];
        _closed = new int[instances.Length];
    }

    public RuleInstance[] Instances { get; }

    public int OpenedCount { get; private set; }

    public int ClosedCount { get; private set; }

    /// <summary>Indices of instances whose violation should open this tick.</summary>
    public ReadOnlySpan<int> Opened => _opened.AsSpan(0, OpenedCount);

    /// <summary>Indices of instances whose violation should close this tick.</summary>
    public ReadOnlySpan<int> Closed => _closed.AsSpan(0, ClosedCount);

    public void Evaluate(double[] values, DateTimeOffset now)
    {
        OpenedCount = 0;
        ClosedCount = 0;
        var instances = Instances;
        for (var i = 0; i < instances.Length; i++)
        {
            var instance = instances[i];
            var value = values[instance.Slot];
            if (double.IsNaN(value))
            {
                // No reading: opens nothing, closes nothing, and the time until the next reading does not count toward For.
                if (instance.Breaching)
                {
                    instance.Gap = true;
                }

                continue;
            }

            var rule = instance.Rule;
            var violation = instance.Violation;
            if (violation is not null)
            {
                violation.Observed = value;
                if (rule.IsCleared(value))
                {
                    _closed[ClosedCount++] = i;
                }

                continue;
            }

            if (!rule.IsBreach(value))
            {
                // The common case on a healthy tick: read-only unless a breach was being timed (no stores, no cache-line writes).
                if (instance.Breaching)
                {
                    instance.ResetBreach();
                }

                continue;
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
                _opened[OpenedCount++] = i;
            }
        }
    }

    /// <summary>Builds the instances of <paramref name="rules"/> over <paramref name="table"/>, carrying state over from <paramref name="previous"/>.</summary>
    public static RuleInstance[] Build(IReadOnlyList<CompiledRule> rules, SignalTable table, RuleInstance[]? previous)
    {
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

                var carried = previous?.FirstOrDefault(p => p.Slot == slot && p.Rule.SameIdentity(rule));
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
    }
}
