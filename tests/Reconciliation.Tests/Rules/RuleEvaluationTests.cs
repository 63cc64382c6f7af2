using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Rules;

/// <summary>When violations open and close: For, hysteresis (Clear), missing readings, one violation per resource.</summary>
public sealed class RuleEvaluationTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task For_delays_opening_until_the_breach_has_lasted_that_long_on_the_clock()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.For = TimeSpan.FromSeconds(30); }));
        probe.Set(0.9);

        Assert.Empty((await harness.TickAsync()).Violations);      // t=0: breach starts
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=10
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=20
        var opened = Assert.Single((await harness.NextTickAsync()).Violations); // t=30: lasted For

        Assert.Equal(ViolationState.Open, opened.State);
        Assert.Equal(harness.Time.GetUtcNow(), opened.OpenedAt);
    }

    [Fact]
    public async Task A_healthy_reading_during_For_starts_the_count_again()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.For = TimeSpan.FromSeconds(20); }));
        probe.Set(0.9);
        await harness.TickAsync();                                  // t=0 breach
        await harness.NextTickAsync();                              // t=10 breach (10 s)
        probe.Set(0.5);
        await harness.NextTickAsync();                              // t=20 healthy: reset
        probe.Set(0.9);
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=30 breach again (0 s)
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=40 (10 s)
        Assert.Single((await harness.NextTickAsync()).Violations); // t=50 (20 s)
    }

    [Fact]
    public async Task Clear_hysteresis_keeps_a_violation_open_between_Clear_and_the_limit_so_it_does_not_flap()
    {
        var values = new[] { 0.81, 0.79, 0.81, 0.79, 0.81, 0.79, 0.65, 0.55, 0.79, 0.81 };
        var (withClear, withClearStates) = await RunAsync(values, clear: 0.6);
        var (withoutClear, _) = await RunAsync(values, clear: null);

        Assert.Equal((2, 1), withClear);      // opened at 0.81, closed only at 0.55, opened again at the last 0.81
        Assert.Equal((4, 3), withoutClear);   // without Clear it opens and closes at every crossing of 0.8
        Assert.Equal(
            ["Open", "Open", "Open", "Open", "Open", "Open", "Open", "Closed", "-", "Open"],
            withClearStates);

        static async Task<((int Opened, int Closed), string[] States)> RunAsync(double[] values, double? clear)
        {
            var probe = new TestProbe("db", Signal);
            await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Clear = clear; }));
            using var events = harness.Events.Subscribe();
            var states = new string[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                probe.Set(values[i]);
                var report = i == 0 ? await harness.TickAsync() : await harness.NextTickAsync();
                states[i] = report.Violations.Count == 0 ? "-" : Assert.Single(report.Violations).State.ToString();
            }

            var kinds = Drain(events);
            return ((kinds.Count(k => k == ReconciliationEventKind.ViolationOpened), kinds.Count(k => k == ReconciliationEventKind.ViolationClosed)), states);
        }
    }

    [Fact]
    public async Task A_Below_rule_breaches_under_its_limit_and_clears_at_or_above_Clear()
    {
        var probe = new TestProbe("cache", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("hit-ratio", r => { r.Signal = Signal; r.Below = 0.5; r.Clear = 0.7; }));
        probe.Set(0.4);
        var open = Assert.Single((await harness.TickAsync()).Violations);
        Assert.False(open.IsAbove);
        probe.Set(0.6);
        Assert.Equal(ViolationState.Open, Assert.Single((await harness.NextTickAsync()).Violations).State);
        probe.Set(0.7);
        Assert.Equal(ViolationState.Closed, Assert.Single((await harness.NextTickAsync()).Violations).State);
    }

    [Fact]
    public async Task A_missing_reading_neither_opens_nor_closes_and_does_not_count_toward_For()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.For = TimeSpan.FromSeconds(20); }));

        probe.Set(0.9);
        await harness.TickAsync();                                  // t=0 breach starts
        probe.Set(double.NaN);
        var gap = await harness.NextTickAsync();                    // t=10 no reading
        Assert.Null(gap.ValueOf(Signal, "db"));
        Assert.Empty(gap.Violations);
        probe.Set(0.9);
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=20: 20 s since the first breach, but 10 s of it unknown
        Assert.Empty((await harness.NextTickAsync()).Violations);  // t=30: 10 s of continuous breach
        var opened = Assert.Single((await harness.NextTickAsync()).Violations); // t=40: 20 s of continuous breach
        Assert.Equal(ViolationState.Open, opened.State);

        // No reading while open: stays open (does not close), observed keeps its last value.
        probe.Set(double.NaN);
        var stillOpen = Assert.Single((await harness.NextTickAsync()).Violations);
        Assert.Equal(ViolationState.Open, stillOpen.State);
        Assert.Equal(0.9, stillOpen.Observed);
        Assert.Equal(opened.OpenedAt, stillOpen.OpenedAt);
    }

    [Fact]
    public async Task Missing_readings_alone_never_open_a_violation()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Below = 0.5; })); // NaN compared naively would be neither above nor below
        probe.Set(double.NaN);

        for (var i = 0; i < 5; i++)
        {
            Assert.Empty((await harness.NextTickAsync()).Violations);
        }
    }

    [Fact]
    public async Task A_rule_without_Resource_makes_one_violation_per_resource_and_a_rule_with_one_only_watches_it()
    {
        var a = new TestProbe("db-a", Signal);
        var b = new TestProbe("db-b", Signal);
        await using var harness = EngineHarness.Create(null, builder => builder.AddProbe(_ => a).AddProbe(_ => b)
            .AddRule("every", r => { r.Signal = Signal; r.Above = 0.8; })
            .AddRule("only-b", r => { r.Signal = Signal; r.Above = 0.8; r.Resource = "db-b"; }));

        a.Set(0.9);
        b.Set(0.5);
        var first = await harness.TickAsync();
        var onlyA = Assert.Single(first.Violations);
        Assert.Equal(("every", "db-a"), (onlyA.Rule, onlyA.Resource));

        b.Set(0.95);
        var second = await harness.NextTickAsync();
        Assert.Equal(
            ["every/db-a", "every/db-b", "only-b/db-b"],
            second.Violations.Select(v => $"{v.Rule}/{v.Resource}").Order(StringComparer.Ordinal));
        Assert.Equal(0.9, second.Violations.Single(v => v.Resource == "db-a").Observed);
        Assert.Equal(0.95, second.Violations.Single(v => v.Rule == "every" && v.Resource == "db-b").Observed);

        a.Set(0.1); // closes db-a's violation only
        var third = await harness.NextTickAsync();
        Assert.Equal(ViolationState.Closed, third.Violations.Single(v => v.Resource == "db-a").State);
        Assert.All(third.Violations.Where(v => v.Resource == "db-b"), v => Assert.Equal(ViolationState.Open, v.State));
    }

    [Fact]
    public async Task Infinity_written_by_a_probe_counts_as_no_reading()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; }));
        probe.Set(double.PositiveInfinity);

        var report = await harness.TickAsync();

        Assert.Null(report.ValueOf(Signal, "db"));
        Assert.Empty(report.Violations);
    }

    private static List<ReconciliationEventKind> Drain(ReconciliationEvents.Subscription subscription)
    {
        var kinds = new List<ReconciliationEventKind>();
        while (subscription.Reader.TryRead(out var e))
        {
            kinds.Add(e.Kind);
        }

        return kinds;
    }
}
