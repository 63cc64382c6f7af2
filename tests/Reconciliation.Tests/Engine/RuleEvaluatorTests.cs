using System.Globalization;

namespace Reconciliation.Tests.Engine;

/// <summary>
/// The compiled evaluator (parallel arrays in slot order, runs of consecutive slots compared four at a time, a rule
/// instance touched only when its reading breaches, is missing, or it is active) against a plain reference loop over
/// the instances with the rule semantics written out: same violations opened and closed, in the same order, and the
/// same breach state, tick after tick, over random readings.
/// </summary>
public sealed class RuleEvaluatorTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReconciliationOptions Global = new();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Compiled_evaluation_matches_the_reference_loop_tick_for_tick(int seed)
    {
        var random = new Random(seed);
        const int SlotCount = 64;
        var instances = new List<RuleInstance>();

        // A run over consecutive slots (vectorized), its tail, then scattered instances with several rules on one slot.
        for (var slot = 0; slot < 23; slot++)
        {
            instances.Add(new RuleInstance(RandomRule(random, instances.Count), slot, "r"));
        }

        for (var i = 0; i < 40; i++)
        {
            instances.Add(new RuleInstance(RandomRule(random, instances.Count), 23 + random.Next(SlotCount - 23), "r"));
        }

        // Shuffled build order: the evaluator sorts by slot internally but must report in build order.
        var array = instances.OrderBy(_ => random.Next()).ToArray();
        var reference = array.Select(i => new Reference(i.Rule)).ToArray();
        var evaluator = new RuleEvaluator(array);
        var values = new double[SlotCount + 1];
        var now = Start;
        var opened = 0;
        var closed = 0;

        for (var tick = 0; tick < 2_000; tick++)
        {
            // Readings that hover around the limits (so rules breach, clear and stay between), sometimes missing.
            for (var s = 0; s < values.Length; s++)
            {
                values[s] = random.NextDouble() < 0.1 ? double.NaN : Math.Round(random.NextDouble(), 1);
            }

            if (tick == 1_000)
            {
                // A reload: some rules get new thresholds; a new evaluator adopts the live instances with their state.
                for (var i = 0; i < array.Length; i += 3)
                {
                    var rule = RandomRule(random, i, array[i].Rule.IsAbove);
                    array[i].Rule = rule;
                    reference[i].Rule = rule;
                }

                evaluator = new RuleEvaluator(array);
            }

            evaluator.Evaluate(values, now);
            var (expectedOpened, expectedClosed) = Evaluate(reference, array, values, now);
            Assert.Equal(expectedOpened, evaluator.Opened.ToArray());
            Assert.Equal(expectedClosed, evaluator.Closed.ToArray());

            // What the engine does with the result.
            foreach (var index in evaluator.Closed)
            {
                array[index].Violation = null;
                array[index].ResetBreach();
                reference[index].Open = false;
                reference[index].ResetBreach();
            }

            foreach (var index in evaluator.Opened)
            {
                array[index].Violation = new ActiveViolation(array[index], values[array[index].Slot], now);
                reference[index].Open = true;
                reference[index].Observed = values[array[index].Slot];
            }

            for (var i = 0; i < array.Length; i++)
            {
                var (actual, expected) = (array[i], reference[i]);
                Assert.Equal((expected.Breaching, expected.Gap, expected.Accumulated, expected.Open), (actual.Breaching, actual.Gap, actual.Accumulated, actual.Violation is not null));
                if (expected.Open)
                {
                    Assert.Equal(expected.Observed, actual.Violation!.Observed);
                }
            }

            // The count the engine skips its planner and report scan by: exactly the active instances, reload included.
            Assert.Equal(array.Count(i => i.IsActive), evaluator.ActiveCount);

            opened += evaluator.OpenedCount;
            closed += evaluator.ClosedCount;
            now += TimeSpan.FromSeconds(random.Next(2) == 0 ? 10 : 3);
        }

        // The premise: the random walk really opened and closed violations, many times.
        Assert.InRange(opened, 100, int.MaxValue);
        Assert.InRange(closed, 100, int.MaxValue);
    }

    [Fact]
    public void A_healthy_tick_after_the_engine_opens_a_violation_still_evaluates_it()
    {
        // The engine sets Violation itself (not the evaluator): the compiled limit must learn that the instance is open,
        // or a reading between Clear and the limit would be skipped as healthy and the violation would never close.
        var rule = Rule("r", above: 0.8, clear: 0.5, TimeSpan.Zero);
        var instances = Enumerable.Range(0, 8).Select(s => new RuleInstance(rule, s, "r")).ToArray();
        var evaluator = new RuleEvaluator(instances);
        var values = new double[8];
        values[5] = 0.9;
        evaluator.Evaluate(values, Start);
        Assert.Equal([5], evaluator.Opened.ToArray());
        instances[5].Violation = new ActiveViolation(instances[5], 0.9, Start);

        values[5] = 0.7; // under the limit, above Clear: still open
        evaluator.Evaluate(values, Start.AddSeconds(10));
        Assert.Equal(0, evaluator.ClosedCount);
        Assert.Equal(0.7, instances[5].Violation!.Observed);

        values[5] = 0.4;
        evaluator.Evaluate(values, Start.AddSeconds(20));
        Assert.Equal([5], evaluator.Closed.ToArray());
    }

    [Fact]
    public void An_evaluator_left_by_its_instances_adopts_them_back_before_evaluating()
    {
        // A reload compiles a new evaluator over the live instances; if the reload then fails and the old evaluator
        // stays in use, state changes reported to the new one must not leave the old one deciding on stale limits.
        var rule = Rule("r", above: 0.8, clear: 0.5, TimeSpan.Zero);
        var instances = Enumerable.Range(0, 8).Select(s => new RuleInstance(rule, s, "r")).ToArray();
        var kept = new RuleEvaluator(instances);
        _ = new RuleEvaluator(instances); // compiled by a reload that never applied
        var values = new double[8];
        values[2] = 0.9;
        kept.Evaluate(values, Start);
        Assert.Equal([2], kept.Opened.ToArray());
        instances[2].Violation = new ActiveViolation(instances[2], 0.9, Start);

        values[2] = 0.4; // under the limit and Clear: closes, which the kept evaluator sees only if it knows the violation is open
        kept.Evaluate(values, Start.AddSeconds(10));
        Assert.Equal([2], kept.Closed.ToArray());
    }

    private static CompiledRule RandomRule(Random random, int index, bool? above = null)
    {
        var isAbove = above ?? random.Next(2) == 0;
        var limit = Math.Round(0.2 + (random.NextDouble() * 0.6), 1);
        var clear = isAbove ? limit - (random.Next(3) * 0.1) : limit + (random.Next(3) * 0.1);
        var @for = TimeSpan.FromSeconds(random.Next(3) * 10);
        return Rule("rule-" + index.ToString(CultureInfo.InvariantCulture), isAbove ? limit : null, clear, @for, isAbove ? null : limit);
    }

    private static CompiledRule Rule(string name, double? above, double clear, TimeSpan @for, double? below = null)
    {
        var options = new RuleOptions { Signal = "s", Above = above, Below = below, Clear = clear, For = @for };
        return new CompiledRule(name, options, Global);
    }

    /// <summary>The rule semantics written out plainly, one instance at a time, in build order.</summary>
    private static (int[] Opened, int[] Closed) Evaluate(Reference[] states, RuleInstance[] instances, double[] values, DateTimeOffset now)
    {
        var opened = new List<int>();
        var closed = new List<int>();
        for (var i = 0; i < states.Length; i++)
        {
            var state = states[i];
            var rule = state.Rule;
            var value = values[instances[i].Slot];
            if (double.IsNaN(value))
            {
                state.Gap |= state.Breaching;
                continue;
            }

            var breach = rule.IsAbove ? value > rule.Limit : value < rule.Limit;
            if (state.Open)
            {
                state.Observed = value;
                if (rule.IsAbove ? value <= rule.Clear : value >= rule.Clear)
                {
                    closed.Add(i);
                }

                continue;
            }

            if (!breach)
            {
                state.ResetBreach();
                continue;
            }

            if (state.Breaching && !state.Gap)
            {
                state.Accumulated += now - state.LastBreachAt;
            }

            (state.Breaching, state.Gap, state.LastBreachAt) = (true, false, now);
            if (state.Accumulated >= rule.For)
            {
                opened.Add(i);
            }
        }

        return ([.. opened], [.. closed]);
    }

    private sealed class Reference(CompiledRule rule)
    {
        public CompiledRule Rule { get; set; } = rule;

        public bool Breaching { get; set; }

        public bool Gap { get; set; }

        public TimeSpan Accumulated { get; set; }

        public DateTimeOffset LastBreachAt { get; set; }

        public bool Open { get; set; }

        public double Observed { get; set; }

        public void ResetBreach() => (Breaching, Gap, Accumulated) = (false, false, TimeSpan.Zero);
    }
}
