using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Policies;

/// <summary>
/// The heal policy on the fake clock: cooldown, attempts per sliding window, exponential backoff with a cap, escalation,
/// exhaustion, and the closed loop (a heal counts as successful only when its violation closes within VerifyWithin).
/// Ticks run every 10 s from t=0; the first tick never heals, so the first heal is at t=10.
/// </summary>
public sealed class HealPolicyTests
{
    private const string Signal = "test.usage";
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_heal_whose_violation_closes_in_time_counts_as_a_success_with_event_and_metric()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { OnHeal = _ => probe.Set(0.1) };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        using var heals = HealsCollector(harness);
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await harness.TickAsync();
        var healTick = await harness.NextTickAsync();
        var heal = Assert.Single(healTick.Heals);
        Assert.Equal((HealOutcomeKind.Healed, "fix", 1), (heal.Outcome.Kind, heal.Healer, heal.Attempt));
        Assert.Equal(ViolationState.Healing, Assert.Single(healTick.Violations).State);
        Assert.Empty(heals.GetMeasurementSnapshot()); // not yet judged

        var closeTick = await harness.NextTickAsync();

        Assert.Equal(ViolationState.Closed, Assert.Single(closeTick.Violations).State);
        var measurement = Assert.Single(heals.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("fix", measurement.Tags["healer"]);
        Assert.Equal("healed", measurement.Tags["outcome"]);
        Assert.Equal(
            [ReconciliationEventKind.ViolationOpened, ReconciliationEventKind.HealStarted, ReconciliationEventKind.HealSucceeded, ReconciliationEventKind.ViolationClosed],
            Kinds(events));
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(10, TestContext.Current.CancellationToken);
        Assert.Contains(journal, r => r.IsVerdict && r.Outcome == HealOutcomeKind.Healed);
    }

    [Fact]
    public async Task A_heal_whose_violation_does_not_close_within_VerifyWithin_counts_as_failed_and_backs_off()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix"); // reports Healed but changes nothing
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => { p.Cooldown = TimeSpan.FromSeconds(30); p.BackoffMultiplier = 1; p.MaxAttempts = 5; }));
        using var heals = HealsCollector(harness);
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);
        var calledAt = new List<DateTimeOffset>();

        await harness.TickAsync();
        for (var t = 10; t <= 70; t += 10)
        {
            var report = await harness.NextTickAsync();
            if (report.Heals.Count > 0)
            {
                calledAt.Add(report.Timestamp);
            }

            if (t == 20)
            {
                // The verdict on the heal at t=10 falls one interval (the default VerifyWithin) later.
                var violation = Assert.Single(report.Violations);
                Assert.Equal(ViolationState.Open, violation.State);
                Assert.StartsWith("cooldown/backoff until", violation.HeldBack, StringComparison.Ordinal);
            }
        }

        Assert.Equal([At(10), At(40), At(70)], calledAt); // the failed verdict keeps the 30 s cooldown from the heal's start
        var failed = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.HealFailed && e.Timestamp == At(20));
        Assert.Contains("did not close within 00:00:10", failed.Reason, StringComparison.Ordinal);
        Assert.All(heals.GetMeasurementSnapshot(), m => Assert.Equal("failed", m.Tags["outcome"]));
        Assert.Equal(2, heals.GetMeasurementSnapshot().Count); // the verdicts at t=20 and t=50; the heal at t=70 is still being verified
    }

    [Fact]
    public async Task A_longer_VerifyWithin_waits_several_ticks_and_a_close_within_it_is_a_success()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix");
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => p.VerifyWithin = TimeSpan.FromSeconds(30)));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);
        await harness.TickAsync();
        await harness.NextTickAsync(); // t=10 heal

        var t20 = Assert.Single((await harness.NextTickAsync()).Violations);
        var t30 = Assert.Single((await harness.NextTickAsync()).Violations);
        Assert.Equal((ViolationState.Healing, "verifying the last heal"), (t20.State, t20.HeldBack));
        Assert.Equal(ViolationState.Healing, t30.State);

        probe.Set(0.5); // closes at t=40, the deadline
        Assert.Equal(ViolationState.Closed, Assert.Single((await harness.NextTickAsync()).Violations).State);
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.HealSucceeded && e.Healer == "fix");
        Assert.DoesNotContain(Drain(events), e => e.Kind == ReconciliationEventKind.HealFailed);
        Assert.Equal(1, healer.Calls);
    }

    [Fact]
    public async Task VerifyWithin_runs_from_when_a_slow_heal_returned_so_it_gets_the_whole_period()
    {
        var probe = new TestProbe("db", Signal);
        var gate = new TaskCompletionSource();
        var healer = new TestHealer("fix") { Gate = gate };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        probe.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(EngineHarness.Interval);
        var healTick = harness.TickAsync();                  // t=10
        await healer.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);
        harness.Time.Advance(TimeSpan.FromSeconds(4));       // the heal takes 4 s
        gate.SetResult();
        Assert.Equal(HealOutcomeKind.Healed, Assert.Single((await healTick).Heals).Outcome.Kind);

        var t20 = Assert.Single((await harness.NextTickAsync(TimeSpan.FromSeconds(6))).Violations); // only 6 s after it returned
        Assert.Equal(ViolationState.Healing, t20.State);
        var t30 = Assert.Single((await harness.NextTickAsync()).Violations);                          // 16 s: judged
        Assert.Equal(ViolationState.Open, t30.State);
    }

    [Fact]
    public async Task A_reload_that_removes_the_healers_of_a_violation_under_verification_does_not_break_the_tick()
    {
        var configuration = new ReloadableConfiguration(ConfigFor.Rule("r", Signal, above: 0.8, clear: null, "fix"));
        var root = configuration.BuildRoot();
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix");
        await using var harness = EngineHarness.Create(services => services
            .AddStateReconciliation(root.GetSection(ConfigFor.Section)).AddProbe(_ => probe).AddHealer(_ => healer));
        probe.Set(0.9);
        await harness.TickAsync();
        Assert.Equal(ViolationState.Healing, Assert.Single((await harness.NextTickAsync()).Violations).State);

        configuration.Remove("Reconciliation:Rules:r:Heal:0");
        root.Reload();
        var report = await harness.NextTickAsync();

        var violation = Assert.Single(report.Violations);
        Assert.Equal((ViolationState.Open, "the rule has no healers (report only)"), (violation.State, violation.HeldBack));
        Assert.Empty(report.Heals);
    }

    [Fact]
    public async Task Cooldown_spaces_attempts_on_one_violation()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", Time) { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => { p.Cooldown = TimeSpan.FromSeconds(30); p.BackoffMultiplier = 1; p.MaxAttempts = 10; }), time: Time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 80);

        Assert.Equal([At(10), At(40), At(70)], healer.CalledAt);
    }

    [Fact]
    public async Task Cooldown_also_holds_back_the_first_heal_of_a_new_violation_on_the_same_resource()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", Time) { OnHeal = _ => probe.Set(0.1) };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => p.Cooldown = TimeSpan.FromSeconds(60)), time: Time);
        probe.Set(0.9);
        await harness.TickAsync();
        await harness.NextTickAsync();                                   // t=10 heal
        Assert.Equal(ViolationState.Closed, Assert.Single((await harness.NextTickAsync()).Violations).State); // t=20
        probe.Set(0.9);
        var reopened = Assert.Single((await harness.NextTickAsync()).Violations); // t=30: a new violation

        Assert.Equal("fix is cooling down on db", reopened.HeldBack);
        await TickUntilAsync(harness, 70, from: 40);
        Assert.Equal([At(10), At(70)], healer.CalledAt);
    }

    [Fact]
    public async Task Exponential_backoff_doubles_the_wait_after_each_failure_up_to_MaxBackoff()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", Time) { Throw = new InvalidOperationException("still broken") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p =>
            {
                p.Cooldown = TimeSpan.FromSeconds(10);
                p.BackoffMultiplier = 2;
                p.MaxBackoff = TimeSpan.FromSeconds(40);
                p.MaxAttempts = 100;
                p.Window = TimeSpan.FromHours(1);
            }), time: Time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 200);

        var times = healer.CalledAt;
        Assert.Equal([At(10), At(20), At(40), At(80), At(120), At(160), At(200)], times);
        Assert.Equal([10, 20, 40, 40, 40, 40], times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds));
    }

    [Fact]
    public async Task Escalation_tries_the_healers_in_order_then_the_violation_is_exhausted_and_nothing_more_runs_until_it_closes()
    {
        var probe = new TestProbe("db", Signal);
        var order = new List<string>();
        var healers = new[] { "first", "second", "third" }
            .Select(n => new TestHealer(n, Time) { Outcome = _ => HealOutcome.Failed("no luck"), OnHeal = _ => order.Add(n) })
            .ToArray();
        await using var harness = Build(probe, healers, r => { r.Heal.Add("first"); r.Heal.Add("second"); r.Heal.Add("third"); },
            b =>
            {
                foreach (var name in new[] { "first", "second", "third" })
                {
                    b.ConfigureHealer(name, p => { p.MaxAttempts = 1; p.Cooldown = TimeSpan.FromSeconds(10); p.Window = TimeSpan.FromMinutes(1); });
                }
            }, time: Time);
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await TickUntilAsync(harness, 30);
        Assert.Equal(["first", "second", "third"], order);
        var exhausted = Assert.Single((await harness.NextTickAsync()).Violations); // t=40
        Assert.Equal((ViolationState.Exhausted, "every healer's attempts are used up"), (exhausted.State, exhausted.HeldBack));
        Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.ViolationExhausted);

        // Long after every window has slid past: still nothing, the violation stays exhausted until it closes.
        await TickUntilAsync(harness, 300, from: 50);
        Assert.Equal(3, order.Count);
        Assert.Equal(ViolationState.Exhausted, Assert.Single(harness.Reconciler.LatestReport!.Violations).State);

        probe.Set(0.1);
        await harness.NextTickAsync(); // t=310 closes
        probe.Set(0.9);
        await harness.NextTickAsync(); // t=320 a new violation: the first healer again
        Assert.Equal(["first", "second", "third", "first"], order);
    }

    [Fact]
    public async Task MaxAttempts_counts_over_a_sliding_window_across_violations_of_the_same_resource()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", Time) { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p =>
            {
                p.MaxAttempts = 2;
                p.Window = TimeSpan.FromMinutes(2);
                p.Cooldown = TimeSpan.FromSeconds(10);
                p.BackoffMultiplier = 1;
            }), time: Time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 30);                     // heals at t=10 and t=20; exhausted at t=30
        Assert.Equal([At(10), At(20)], healer.CalledAt);
        Assert.Equal(ViolationState.Exhausted, Assert.Single(harness.Reconciler.LatestReport!.Violations).State);

        probe.Set(0.1);
        await harness.NextTickAsync();                           // t=40 closes
        probe.Set(0.9);
        var second = Assert.Single((await harness.NextTickAsync()).Violations); // t=50: new violation, but 2 attempts in the last 2 min
        Assert.Equal(ViolationState.Exhausted, second.State);
        Assert.Equal(2, healer.Calls);

        probe.Set(0.1);
        await TickUntilAsync(harness, 140, from: 60);            // closes; at t=140 the window is [t=20, t=140]: one attempt in it
        probe.Set(0.9);
        await harness.NextTickAsync();                           // t=150: window [t=30, t=150] holds none
        Assert.Equal([At(10), At(20), At(150)], healer.CalledAt);
    }

    [Fact]
    public async Task Never_two_heals_of_the_same_resource_at_once()
    {
        var probe = new TestProbe("db", Signal, "test.other");
        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.AddRule("other", r => { r.Signal = "test.other"; r.Above = 0.8; r.Heal.Add("fix"); }));
        probe.Set(Signal, 0.9);
        probe.Set("test.other", 0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Single(report.Heals);
        Assert.Contains(report.Violations, v => v.HeldBack == "a heal of db is still running");
    }

    [Fact]
    public async Task A_shared_resource_heal_whose_lease_is_held_elsewhere_is_skipped_without_calling_the_healer()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), b => b.UseHealLease<HeldElsewhereLease>());
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Skipped, heal.Outcome.Kind);
        Assert.Contains("lease", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(0, healer.Calls);
    }

    private FakeTimeProvider Time { get; } = new(Start);

    internal static EngineHarness Build(TestProbe probe, TestHealer[] healers, Action<RuleOptions> rule, Action<IReconciliationBuilder>? more = null,
        Action<ReconciliationOptions>? options = null, FakeTimeProvider? time = null) =>
        EngineHarness.Create(options, b =>
        {
            b.AddProbe(_ => probe);
            foreach (var healer in healers)
            {
                b.AddHealer(_ => healer);
            }

            b.AddRule("r", r => { r.Signal = probe.Signals[0].Name; r.Above = 0.8; rule(r); });
            more?.Invoke(b);
        }, time);

    internal static MetricCollector<long> HealsCollector(EngineHarness harness) =>
        new(harness.Provider.GetRequiredService<IMeterFactory>(), ReconciliationTelemetry.MeterName, "reconciliation.heals");

    internal static DateTimeOffset At(int seconds) => Start.AddSeconds(seconds);

    /// <summary>Runs the first tick (t=0) if none ran yet, then ticks every 10 s up to <paramref name="until"/> seconds.</summary>
    internal static async Task TickUntilAsync(EngineHarness harness, int until, int from = 10)
    {
        if (harness.Reconciler.LatestReport is null)
        {
            await harness.TickAsync();
        }

        for (var t = from; t <= until; t += 10)
        {
            await harness.NextTickAsync();
        }
    }

    internal static List<ReconciliationEvent> Drain(ReconciliationEvents.Subscription subscription)
    {
        var list = new List<ReconciliationEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            list.Add(e);
        }

        return list;
    }

    private static List<ReconciliationEventKind> Kinds(ReconciliationEvents.Subscription subscription) => [.. Drain(subscription).Select(e => e.Kind)];

    private sealed class HeldElsewhereLease : IHealLease
    {
        public ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IHealLeaseHandle?>(null);
    }
}
