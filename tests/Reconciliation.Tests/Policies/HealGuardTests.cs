using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Policies;

/// <summary>The guards against heal storms (warm-up, the global budget), dry-run, and the destructive opt-in.</summary>
public sealed class HealGuardTests
{
    private const string Signal = "test.usage";
    private readonly FakeTimeProvider _time = new(At(0));

    [Fact]
    public async Task The_first_tick_never_heals_even_without_a_warm_up()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix");
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        probe.Set(0.9);

        var first = await harness.TickAsync();

        Assert.Empty(first.Heals);
        Assert.StartsWith("warm-up", Assert.Single(first.Violations).HeldBack, StringComparison.Ordinal);
        Assert.Single((await harness.NextTickAsync()).Heals);
    }

    [Fact]
    public async Task Warm_up_holds_heals_back_until_the_process_has_run_that_long()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time) { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), options: o => o.WarmUp = TimeSpan.FromSeconds(60), time: _time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 50);
        Assert.Equal(0, healer.Calls);
        Assert.StartsWith("warm-up", Assert.Single(harness.Reconciler.LatestReport!.Violations).HeldBack, StringComparison.Ordinal);

        await harness.NextTickAsync(); // t=60
        Assert.Equal([At(60)], healer.CalledAt);
    }

    [Fact]
    public async Task The_global_budget_pauses_healing_reports_the_pause_and_resumes_after_it()
    {
        var probes = new[] { new TestProbe("a", Signal), new TestProbe("b", Signal), new TestProbe("c", Signal) };
        var healer = new TestHealer("fix", _time) { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = EngineHarness.Create(o =>
        {
            o.HealBudget.MaxHeals = 2;
            o.HealBudget.Window = TimeSpan.FromMinutes(10);
            o.HealBudget.Pause = TimeSpan.FromMinutes(5);
        }, b =>
        {
            foreach (var probe in probes)
            {
                b.AddProbe(_ => probe);
            }

            b.AddHealer(_ => healer)
                .ConfigureHealer("fix", p => { p.Cooldown = TimeSpan.FromSeconds(10); p.BackoffMultiplier = 1; p.MaxAttempts = 100; })
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        }, _time);
        using var events = harness.Events.Subscribe();
        foreach (var probe in probes)
        {
            probe.Set(0.9);
        }

        await harness.TickAsync();
        var t10 = await harness.NextTickAsync();

        Assert.Equal(2, t10.Heals.Count); // three are due; the budget allows two per window
        Assert.Equal(At(10) + TimeSpan.FromMinutes(5), t10.HealingPausedUntil);
        Assert.Contains(t10.Violations, v => v.HeldBack is { } h && h.StartsWith("heal budget spent", StringComparison.Ordinal));
        var paused = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.HealingPaused);
        Assert.Equal(At(10), paused.Timestamp);

        await TickUntilAsync(harness, 300, from: 20); // the pause runs to t=310
        Assert.Equal(2, healer.Calls);
        Assert.Equal(At(310), harness.Reconciler.LatestReport!.HealingPausedUntil);

        var resumed = await harness.NextTickAsync(); // t=310: the pause is over and the budget starts afresh
        Assert.Equal(2, resumed.Heals.Count);
        Assert.Equal(At(310) + TimeSpan.FromMinutes(5), resumed.HealingPausedUntil);
        Assert.Equal(4, healer.Calls);
    }

    [Fact]
    public async Task Dry_run_never_calls_the_healer_and_reports_its_plan_once_per_cooldown_without_escalating()
    {
        var probe = new TestProbe("db", Signal);
        var first = new TestHealer("first") { Plan = "clear the pool of db" };
        var second = new TestHealer("second") { Plan = "restart the world" };
        await using var harness = Build(probe, [first, second], r => { r.Heal.Add("first"); r.Heal.Add("second"); },
            b => b.ConfigureHealer("first", p => { p.MaxAttempts = 1; p.Cooldown = TimeSpan.FromSeconds(30); }),
            options: o => o.DryRun = true, time: _time);
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await harness.TickAsync();
        var plans = new List<(DateTimeOffset At, string Healer, HealOutcomeKind Kind, string? Plan)>();
        for (var t = 10; t <= 100; t += 10)
        {
            var report = await harness.NextTickAsync();
            plans.AddRange(report.Heals.Select(h => (report.Timestamp, h.Healer, h.Outcome.Kind, h.Outcome.Reason)));
        }

        Assert.Equal((0, 0), (first.Calls, second.Calls));
        // A plan is not an attempt: with MaxAttempts 1 the rule still shows the first healer's plan, once per cooldown.
        Assert.Equal(
            [(At(10), "first", HealOutcomeKind.DryRun, "clear the pool of db"), (At(40), "first", HealOutcomeKind.DryRun, "clear the pool of db"),
             (At(70), "first", HealOutcomeKind.DryRun, "clear the pool of db"), (At(100), "first", HealOutcomeKind.DryRun, "clear the pool of db")],
            plans);
        var violation = Assert.Single(harness.Reconciler.LatestReport!.Violations);
        Assert.Equal((ViolationState.Open, 0), (violation.State, violation.Attempts));
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "HealDryRun" && r.Message.Contains("clear the pool of db", StringComparison.Ordinal));
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.HealSkipped && e.Reason == "dry run: would clear the pool of db");
    }

    [Fact]
    public async Task Dry_run_for_one_healer_only_still_runs_the_others()
    {
        var probe = new TestProbe("db", Signal);
        var careful = new TestHealer("careful");
        await using var harness = Build(probe, [careful], r => r.Heal.Add("careful"),
            b => b.ConfigureHealer("careful", p => p.DryRun = true));
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Equal(HealOutcomeKind.DryRun, Assert.Single(report.Heals).Outcome.Kind);
        Assert.Equal(0, careful.Calls);
    }

    [Fact]
    public async Task A_destructive_healer_never_runs_without_opt_in_and_the_rule_escalates_past_it()
    {
        var probe = new TestProbe("db", Signal);
        var destructive = new TestHealer("nuke") { IsDestructive = true };
        var gentle = new TestHealer("gentle");
        await using var harness = Build(probe, [destructive, gentle], r => { r.Heal.Add("nuke"); r.Heal.Add("gentle"); });
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await TickUntilAsync(harness, 60);

        Assert.Equal(0, destructive.Calls);
        Assert.Equal(1, gentle.Calls);
        var skipped = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.HealSkipped);
        Assert.Equal("nuke", skipped.Healer);
        Assert.Contains("not opted in", skipped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_destructive_healer_runs_when_the_host_opted_in_by_name()
    {
        var probe = new TestProbe("db", Signal);
        var destructive = new TestHealer("nuke") { IsDestructive = true };
        await using var harness = Build(probe, [destructive], r => r.Heal.Add("nuke"), b => b.AllowDestructive("nuke"));
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Equal(HealOutcomeKind.Healed, Assert.Single(report.Heals).Outcome.Kind);
        Assert.Equal(1, destructive.Calls);
    }

    [Fact]
    public async Task A_destructive_healer_in_dry_run_reports_its_plan_without_opt_in_and_is_not_called()
    {
        var probe = new TestProbe("db", Signal);
        var destructive = new TestHealer("nuke") { IsDestructive = true, Plan = "terminate everything" };
        await using var harness = Build(probe, [destructive], r => r.Heal.Add("nuke"), options: o => o.DryRun = true);
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Equal("terminate everything", Assert.Single(report.Heals).Outcome.Reason);
        Assert.Equal(0, destructive.Calls);
    }

    [Fact]
    public async Task A_rule_without_healers_reports_only()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = Build(probe, [], _ => { });
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Empty(report.Heals);
        var violation = Assert.Single(report.Violations);
        Assert.Equal((ViolationState.Open, "the rule has no healers (report only)"), (violation.State, violation.HeldBack));
    }
}
