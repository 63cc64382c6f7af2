using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Healing;

/// <summary>
/// The twelve holes the heal-engine issue found, one test (or two) each, named by number. Each failed on the engine
/// before the Healing feature folder (heals awaited inside the tick, leases released at a timeout, unbounded journal
/// calls, fire-and-forget records) and passes now. Every wait on real time is a bound, never an assertion.
/// </summary>
public sealed class HealEngineHoleTests
{
    private const string Signal = "test.usage";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Hole01_a_shared_lease_is_held_until_a_timed_out_healer_has_really_ended()
    {
        var probe = new TestProbe("db", Signal);
        var gate = new TaskCompletionSource();
        var healer = new TestHealer("fix") { Gate = gate, Scope = HealScope.SharedResource };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), b => b.ConfigureHealer("fix", p => p.Timeout = TimeSpan.FromSeconds(4)));
        var lease = harness.Provider.GetRequiredService<IHealLease>();
        probe.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(EngineHarness.Interval);
        var tick = harness.TickAsync();
        await healer.Entered.Task.WaitAsync(Bound, Ct);
        harness.Time.Advance(TimeSpan.FromSeconds(4)); // the heal's timeout
        var report = await tick.WaitAsync(Bound, Ct);
        Assert.Equal("timed out after 00:00:04", Assert.Single(report.Heals).Outcome.Reason);

        // The healer ignores its token and still runs: nobody else may take the resource's lease yet.
        Assert.Null(await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct));

        healer.Gate = null;
        gate.SetResult();
        await harness.Engine.WhenResourceFreeAsync("db").WaitAsync(Bound, Ct);
        await using var next = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(next);
    }

    [Fact]
    public async Task Hole01_after_a_failed_verdict_the_lease_is_returned_so_the_next_attempt_is_not_blocked_by_its_own_replica()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource }; // says healed, changes nothing
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => { p.Cooldown = EngineHarness.Interval; p.MaxAttempts = 3; p.Window = TimeSpan.FromMinutes(30); }));
        probe.Set(0.9);

        var heals = new List<HealResult>();
        await harness.TickAsync();
        for (var t = 10; t <= 60; t += 10)
        {
            heals.AddRange((await harness.NextTickAsync()).Heals);
        }

        Assert.All(heals, h => Assert.Equal(HealOutcomeKind.Healed, h.Outcome.Kind));
        Assert.Equal(3, heals.Count);
        Assert.Equal(3, healer.Calls);
    }

    [Fact]
    public async Task Hole02_a_running_heal_does_not_stop_the_loop_and_is_verified_by_the_ticks_that_follow()
    {
        var db = new TestProbe("db", Signal);
        var cache = new TestProbe("cache", Signal);
        var gate = new TaskCompletionSource();
        var slow = new TestHealer("fix") { Gate = gate, OnlyResource = "db", OnHeal = _ => db.Set(0.1) };
        var fast = new TestHealer("fix") { OnlyResource = "cache", OnHeal = _ => cache.Set(0.1) };
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => db).AddProbe(_ => cache).AddHealer(_ => slow).AddHealer(_ => fast)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); }));
        db.Set(0.9);
        cache.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(EngineHarness.Interval);
        var tick = harness.TickAsync();
        await slow.Entered.Task.WaitAsync(Bound, Ct);
        await Eventually.UntilAsync(() => Task.FromResult(fast.Calls == 1), "the cache heal was called");
        await harness.Engine.WhenHealOutcomeKnownAsync("cache").WaitAsync(Bound, Ct); // heals run on the pool
        harness.Time.Advance(EngineHarness.Interval / 2); // the most a tick waits for its heals
        var t10 = await tick.WaitAsync(Bound, Ct);
        Assert.Equal(("cache", HealOutcomeKind.Healed), (Assert.Single(t10.Heals).Resource, t10.Heals[0].Outcome.Kind));
        Assert.Equal("a heal of db is still running", t10.Violations.Single(v => v.Resource == "db").HeldBack);

        // The slow heal still runs; the loop keeps probing and evaluating, and never heals db a second time.
        var t20 = await harness.NextTickAsync().WaitAsync(Bound, Ct);
        Assert.Equal(3, db.Calls);
        Assert.Equal(ViolationState.Closed, t20.Violations.Single(v => v.Resource == "cache").State);
        Assert.Equal(1, slow.Calls);

        slow.Gate = null;
        gate.SetResult(); // returns "healed" (and fixes db) between ticks
        await harness.Engine.WhenHealOutcomesKnownAsync().WaitAsync(Bound, Ct);
        var t30 = await harness.NextTickAsync();
        Assert.Equal("db", Assert.Single(t30.Heals).Resource);
        Assert.Equal(ViolationState.Closed, Assert.Single(t30.Violations).State); // judged by the tick that followed
    }

    [Fact]
    public async Task Hole03_a_probe_that_blocks_synchronously_costs_only_its_own_reading()
    {
        using var release = new ManualResetEventSlim();
        var blocking = new BlockingProbe("stuck", release);
        var good = new TestProbe("good", Signal);
        good.Set(0.3);
        await using var harness = EngineHarness.Create(o => o.ProbeTimeout = TimeSpan.FromSeconds(5), b => b.AddProbe(_ => blocking).AddProbe(_ => good));
        try
        {
            var tick = Task.Run(harness.TickAsync, Ct);
            await blocking.Entered.Task.WaitAsync(Bound, Ct);
            Assert.True(await good.Finished.WaitAsync(Bound, Ct));
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var report = await tick.WaitAsync(Bound, Ct);

            Assert.Equal(0.3, report.ValueOf(Signal, "good"));
            Assert.Equal("timed out after 00:00:05", Assert.Single(report.ProbeFailures, f => f.Resource == "stuck").Reason);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task Hole03_a_healer_that_blocks_synchronously_does_not_stall_the_tick()
    {
        using var release = new ManualResetEventSlim();
        var probe = new TestProbe("db", Signal);
        var healer = new BlockingHealer("fix", release);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe).AddHealer(_ => healer)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); }));
        probe.Set(0.9);
        try
        {
            await harness.TickAsync();
            harness.Time.Advance(EngineHarness.Interval);
            var tick = Task.Run(harness.TickAsync, Ct);
            await healer.Entered.Task.WaitAsync(Bound, Ct);
            harness.Time.Advance(EngineHarness.Interval / 2);
            var report = await tick.WaitAsync(Bound, Ct);

            Assert.Equal("a heal of db is still running", Assert.Single(report.Violations).HeldBack);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task Hole04_a_journal_that_never_answers_holds_healing_back_at_the_deadline_not_the_tick()
    {
        var probe = new TestProbe("db", Signal);
        var journal = new HangingJournal();
        var healer = new TestHealer("fix");
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddSingleton<IHealJournal>(journal);
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; o.CallTimeout = TimeSpan.FromSeconds(2); })
                .AddProbe(_ => probe).AddHealer(_ => healer)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        });
        probe.Set(0.9);
        await harness.TickAsync();

        journal.Hang = true;
        harness.Time.Advance(EngineHarness.Interval);
        var tick = harness.TickAsync();
        await journal.Entered.Task.WaitAsync(Bound, Ct);
        harness.Time.Advance(TimeSpan.FromSeconds(2));
        var report = await tick.WaitAsync(Bound, Ct);

        Assert.StartsWith("the tick's deadline for healing was reached", Assert.Single(report.Violations).HeldBack, StringComparison.Ordinal);
        Assert.Equal(0, healer.Calls);
        Assert.Equal(0.9, report.ValueOf(Signal, "db"));
    }

    [Fact]
    public async Task Hole04_a_lease_that_never_answers_skips_the_shared_heal_with_a_reason_and_a_blocking_plan_still_reports()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource };
        var lease = new HangingLease();
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddSingleton<IHealLease>(lease);
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; o.CallTimeout = TimeSpan.FromSeconds(2); })
                .AddProbe(_ => probe).AddHealer(_ => healer)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        });
        probe.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(EngineHarness.Interval);
        var tick = harness.TickAsync();
        await lease.Entered.Task.WaitAsync(Bound, Ct);
        harness.Time.Advance(TimeSpan.FromSeconds(2));
        var report = await tick.WaitAsync(Bound, Ct);

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Skipped, heal.Outcome.Kind);
        Assert.Contains("the shared-resource lease could not be taken", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(0, healer.Calls);
    }

    [Fact]
    public async Task Hole05_one_throwing_lease_call_does_not_hide_the_other_heals_of_the_tick()
    {
        var a = new TestProbe("a", Signal);
        var b = new TestProbe("b", Signal);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource };
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddSingleton<IHealLease>(sp => new ThrowingLease("a", new InMemoryHealLease(sp.GetRequiredService<TimeProvider>())));
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; })
                .AddProbe(_ => a).AddProbe(_ => b).AddHealer(_ => healer)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        });
        a.Set(0.9);
        b.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        Assert.Equal(2, report.Heals.Count);
        Assert.Equal(HealOutcomeKind.Healed, report.Heals.Single(h => h.Resource == "b").Outcome.Kind);
        var skipped = report.Heals.Single(h => h.Resource == "a").Outcome;
        Assert.Equal(HealOutcomeKind.Skipped, skipped.Kind);
        Assert.Contains("lease store is down", skipped.Reason, StringComparison.Ordinal);
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(10, Ct);
        Assert.Contains(journal, r => r.Resource == "b" && r.IsAttempt);
    }

    [Fact]
    public async Task Hole06_a_heal_whose_caller_cancelled_the_tick_is_still_recorded_counted_and_ended_by_an_event()
    {
        var probe = new TestProbe("db", Signal);
        var gate = new TaskCompletionSource();
        var healer = new TestHealer("fix") { Gate = gate, Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(EngineHarness.Interval);
        using var caller = new CancellationTokenSource();
        var tick = harness.Reconciler.ReconcileOnceAsync(caller.Token);
        await healer.Entered.Task.WaitAsync(Bound, Ct);
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tick.WaitAsync(Bound, Ct));

        healer.Gate = null;
        gate.SetResult();
        await harness.Engine.WhenHealOutcomesKnownAsync().WaitAsync(Bound, Ct);
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(10, Ct);
        Assert.Contains(journal, r => r.IsAttempt && r.Outcome == HealOutcomeKind.Failed);

        var next = await harness.NextTickAsync();
        Assert.Equal(HealOutcomeKind.Failed, Assert.Single(next.Heals).Outcome.Kind);
        Assert.Equal(1, Assert.Single(next.Violations).Attempts);
        var kinds = Drain(events).Select(e => e.Kind).ToList();
        Assert.True(kinds.IndexOf(ReconciliationEventKind.HealStarted) < kinds.IndexOf(ReconciliationEventKind.HealFailed), string.Join(",", kinds));
    }

    [Fact]
    public async Task Hole07_a_healer_that_keeps_answering_skipped_is_passed_over_for_the_next_one()
    {
        var probe = new TestProbe("db", Signal);
        var noop = new TestHealer("noop") { Outcome = _ => HealOutcome.Skipped("nothing to do") };
        var fix = new TestHealer("fix") { OnHeal = _ => probe.Set(0.1) };
        await using var harness = Build(probe, [noop, fix], r => { r.Heal.Add("noop"); r.Heal.Add("fix"); },
            b => b.ConfigureHealer("noop", p => p.Cooldown = TimeSpan.FromSeconds(10)));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await TickUntilAsync(harness, 40);

        Assert.Equal(HealingDefaults.SkipsBeforeEscalation, noop.Calls);
        Assert.Equal(1, fix.Calls);
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.HealSkipped && e.Healer == "noop"
            && e.Reason!.Contains("answered \"skipped\" 3 times in a row", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hole08_a_default_outcome_counts_as_a_failed_attempt_not_a_success()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Outcome = _ => default };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Failed, heal.Outcome.Kind);
        Assert.Contains("default(HealOutcome)", heal.Outcome.Reason, StringComparison.Ordinal);
        var violation = Assert.Single(report.Violations);
        Assert.Equal((ViolationState.Open, 1), (violation.State, violation.Attempts));
    }

    [Fact]
    public async Task Hole09_liveness_follows_tick_completion_so_a_long_tick_is_not_a_stuck_loop()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.ProbeTimeout = TimeSpan.FromMinutes(2); }).AddProbe(_ => probe);
            services.AddHealthChecks().AddReconciliation();
        });
        probe.Set(0.1);

        // t=0..25: a legitimately long tick.
        probe.Gate = new TaskCompletionSource();
        var first = harness.TickAsync();
        await probe.Entered.Task.WaitAsync(Bound, Ct);
        harness.Time.Advance(TimeSpan.FromSeconds(25));
        var gate = probe.Gate;
        probe.Gate = null;
        gate.SetResult();
        await first.WaitAsync(Bound, Ct);

        // t=31: the next tick is running; the last one completed 6 s ago. Not stuck (it started 31 s ago, over 3 intervals).
        harness.Time.Advance(TimeSpan.FromSeconds(6));
        probe.ResetEntered();
        probe.Gate = new TaskCompletionSource();
        var second = harness.TickAsync();
        await probe.Entered.Task.WaitAsync(Bound, Ct);
        Assert.Equal(HealthStatus.Healthy, (await harness.CheckHealthAsync()).Status);

        // t=62: still running, and nothing completed for 37 s: now it is stuck.
        harness.Time.Advance(TimeSpan.FromSeconds(31));
        var stuck = (await harness.CheckHealthAsync()).Entries["reconciliation"];
        Assert.Equal(HealthStatus.Unhealthy, stuck.Status);
        Assert.Contains("stuck", stuck.Description, StringComparison.Ordinal);
        gate = probe.Gate;
        probe.Gate = null;
        gate.SetResult();
        await second.WaitAsync(Bound, Ct);
    }

    [Fact]
    public async Task Hole09_a_disabled_reconciler_is_not_a_stuck_loop()
    {
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddStateReconciliation(o => o.Enabled = false);
            services.AddHealthChecks().AddReconciliation();
        });
        _ = harness.Reconciler;
        harness.Time.Advance(TimeSpan.FromMinutes(5));

        var entry = (await harness.CheckHealthAsync()).Entries["reconciliation"];

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains("disabled", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hole10_a_rule_removed_by_reload_closes_its_violation_with_an_event()
    {
        var source = new ReloadableConfiguration(ConfigFor.Rule("saturation", Signal, above: 0.8));
        var root = source.BuildRoot();
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(services => services.AddStateReconciliation(root.GetSection(ConfigFor.Section)).AddProbe(_ => probe));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);
        Assert.Single((await harness.TickAsync()).Violations);

        source.Remove($"{ConfigFor.Section}:Rules:saturation:Signal");
        source.Remove($"{ConfigFor.Section}:Rules:saturation:Above");
        root.Reload();
        var report = await harness.NextTickAsync();

        var closed = Assert.Single(report.Violations);
        Assert.Equal(ViolationState.Closed, closed.State);
        var e = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.ViolationClosed);
        Assert.Contains("removed or disabled by a configuration reload", e.Reason, StringComparison.Ordinal);
        Assert.Empty((await harness.NextTickAsync()).Violations);
    }

    [Fact]
    public async Task Hole10_a_changed_heal_list_tries_the_new_healer_instead_of_staying_exhausted()
    {
        var data = ConfigFor.Rule("saturation", Signal, 0.8, null, "a", "b");
        foreach (var healer in new[] { "a", "b", "c" })
        {
            data[$"{ConfigFor.Section}:Healers:{healer}:MaxAttempts"] = "1";
            data[$"{ConfigFor.Section}:Healers:{healer}:Cooldown"] = "00:00:10";
        }

        var source = new ReloadableConfiguration(data);
        var root = source.BuildRoot();
        var probe = new TestProbe("db", Signal);
        var a = new TestHealer("a") { Outcome = _ => HealOutcome.Failed("no") };
        var b = new TestHealer("b") { Outcome = _ => HealOutcome.Failed("no") };
        var c = new TestHealer("c");
        await using var harness = EngineHarness.Create(services => services.AddStateReconciliation(root.GetSection(ConfigFor.Section))
            .AddProbe(_ => probe).AddHealer(_ => a).AddHealer(_ => b).AddHealer(_ => c));
        probe.Set(0.9);
        await TickUntilAsync(harness, 30);
        Assert.Equal((1, 1), (a.Calls, b.Calls));
        Assert.Equal(ViolationState.Exhausted, Assert.Single(harness.Reconciler.LatestReport!.Violations).State);

        source.Set($"{ConfigFor.Section}:Rules:saturation:Heal:0", "c");
        source.Remove($"{ConfigFor.Section}:Rules:saturation:Heal:1");
        root.Reload();
        var report = await harness.NextTickAsync();

        Assert.Equal(("c", HealOutcomeKind.Healed), (Assert.Single(report.Heals).Healer, report.Heals[0].Outcome.Kind));
        Assert.Equal(1, c.Calls);
    }

    [Fact]
    public async Task Hole10_a_reload_that_switches_Enabled_on_starts_the_loop()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var source = new ReloadableConfiguration(new Dictionary<string, string?>
        {
            [$"{ConfigFor.Section}:Enabled"] = "false",
            [$"{ConfigFor.Section}:Interval"] = "00:00:10",
        });
        var probe = new TestProbe("db", Signal);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.Sources.Add(source);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddStateReconciliation(builder.Configuration.GetSection(ConfigFor.Section)).AddProbe(_ => probe);
        using var host = builder.Build();
        await host.StartAsync(Ct);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, probe.Calls);

        source.Set($"{ConfigFor.Section}:Enabled", "true");
        ((IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>()).Reload();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(await probe.Finished.WaitAsync(Bound, Ct), "the loop did not tick after Enabled was switched on");
        await host.StopAsync(Ct);
    }

    [Fact]
    public void Hole11_durations_and_counts_above_their_bounds_fail_at_start_naming_the_key()
    {
        var services = new ServiceCollection();
        services.AddStateReconciliation(o =>
            {
                o.Interval = TimeSpan.FromDays(2);
                o.Healers["fix"] = new HealPolicyOptions { MaxBackoff = TimeSpan.FromDays(3650), Window = TimeSpan.FromDays(30), MaxAttempts = 1_000_000 };
            })
            .AddProbe(_ => new TestProbe("db", Signal)).AddHealer(_ => new TestHealer("fix"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ReconciliationOptions>>().Value);

        Assert.Contains("Reconciliation:Interval must be at most 01:00:00", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Healers:fix:MaxBackoff must be at most 1.00:00:00", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Healers:fix:Window must be at most 7.00:00:00", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Healers:fix:MaxAttempts must be between 1 and 100000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hole11_a_heal_running_at_shutdown_is_journaled_as_cancelled_before_the_host_stops()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Gate = new TaskCompletionSource() };
        var journal = new InMemoryHealJournal();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IHealJournal>(journal);
        builder.Services.AddStateReconciliation(o => { o.Interval = TimeSpan.FromSeconds(10); o.WarmUp = TimeSpan.Zero; })
            .AddProbe(_ => probe).AddHealer(_ => healer)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        using var host = builder.Build();
        probe.Set(0.9);
        await host.StartAsync(Ct);
        Assert.True(await probe.Finished.WaitAsync(Bound, Ct));
        time.Advance(TimeSpan.FromSeconds(10));
        await healer.Entered.Task.WaitAsync(Bound, Ct);

        await host.StopAsync(Ct);

        var record = Assert.Single(await journal.RecentAsync(10, Ct));
        Assert.Equal((HealOutcomeKind.Failed, "cancelled: the host is stopping"), (record.Outcome, record.Reason));
        healer.Gate.SetResult();
    }

    [Fact]
    public async Task Hole11_the_in_memory_journal_counts_a_window_beyond_a_thousand_records()
    {
        var journal = new InMemoryHealJournal();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 2_000; i++)
        {
            await journal.RecordAsync(new HealRecord("fix", "db", "r", start.AddSeconds(i), HealOutcomeKind.Failed, null), Ct);
        }

        Assert.Equal(2_000, await journal.CountAttemptsAsync("fix", "db", null, start, Ct));
        Assert.Equal(2_000, await journal.CountAllAttemptsAsync(start, Ct));

        // Records older than the longest window the options allow are dropped.
        await journal.RecordAsync(new HealRecord("fix", "db", "r", start + InMemoryHealJournal.Retention + TimeSpan.FromHours(1), HealOutcomeKind.Failed, null), Ct);
        Assert.Equal(1, await journal.CountAllAttemptsAsync(start, Ct));
    }

    [Fact]
    public void Hole12_two_healers_with_one_name_that_both_apply_to_a_resource_fail_at_start_naming_both()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddStateReconciliation(_ => { })
            .AddProbe(_ => new TestProbe("db", Signal))
            .AddHealer(_ => new TestHealer("fix"))
            .AddHealer(_ => new OtherHealer("fix"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IReconciler>());

        Assert.Contains("Two healers named 'fix' both apply to resource '", error.Message, StringComparison.Ordinal);
        Assert.Contains(typeof(TestHealer).FullName!, error.Message, StringComparison.Ordinal);
        Assert.Contains(typeof(OtherHealer).FullName!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hole12_each_tick_and_each_heal_get_their_own_DI_scope()
    {
        var probe = new ScopedProbe("db", Signal);
        var healer = new ScopedHealer("fix");
        await using var harness = EngineHarness.Create(services =>
        {
            services.AddScoped<ScopedThing>();
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; })
                .AddProbe(_ => probe).AddHealer(_ => healer)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        });

        await harness.TickAsync();
        await harness.NextTickAsync();
        await harness.Engine.WhenResourceFreeAsync("db").WaitAsync(Bound, Ct);

        Assert.Equal(2, probe.Seen.Count);
        Assert.NotSame(probe.Seen[0], probe.Seen[1]);                  // a scope per tick
        Assert.All(probe.Seen, thing => Assert.True(thing.Disposed));   // disposed when its tick ended
        var healed = Assert.Single(healer.Seen);
        Assert.DoesNotContain(healed, probe.Seen);                      // the heal's own scope
        Assert.True(healed.Disposed);
    }

    private sealed class BlockingProbe(string resource, ManualResetEventSlim release) : IProbe
    {
        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(Signal, SignalUnits.Ratio, "test")];

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            release.Wait(CancellationToken.None); // blocks its thread before any await, ignoring its token
            return ValueTask.CompletedTask;
        }
    }

    private sealed class BlockingHealer(string name, ManualResetEventSlim release) : IHealer
    {
        public string Name => name;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.Process;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            release.Wait(CancellationToken.None);
            return ValueTask.FromResult(HealOutcome.Healed());
        }
    }

    private sealed class OtherHealer(string name) : IHealer
    {
        public string Name => name;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.Process;

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken) => ValueTask.FromResult(HealOutcome.Healed());
    }

    private sealed class HangingJournal : IHealJournal
    {
        private readonly InMemoryHealJournal _inner = new();

        public bool Hang { get; set; }

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken) => _inner.RecordAsync(record, cancellationToken);

        public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken) =>
            Hang ? Never() : _inner.CountAttemptsAsync(healer, resource, replica, since, cancellationToken);

        public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
            _inner.AttemptTimesAsync(healer, replica, since, max, cancellationToken);

        public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
            Hang ? Never() : _inner.CountAllAttemptsAsync(since, cancellationToken);

        public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) => _inner.RecentAsync(max, cancellationToken);

        private ValueTask<int> Never()
        {
            Entered.TrySetResult();
            return new ValueTask<int>(new TaskCompletionSource<int>().Task); // ignores its token, answers never
        }
    }

    private sealed class HangingLease : IHealLease
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            return new ValueTask<IHealLeaseHandle?>(new TaskCompletionSource<IHealLeaseHandle?>().Task);
        }
    }

    private sealed class ThrowingLease(string failing, IHealLease inner) : IHealLease
    {
        public ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken) =>
            resource == failing
                ? ValueTask.FromException<IHealLeaseHandle?>(new InvalidOperationException("lease store is down"))
                : inner.TryAcquireAsync(resource, duration, cancellationToken);
    }

    private sealed class ScopedThing : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    private sealed class ScopedProbe(string resource, string signal) : IProbe
    {
        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(signal, SignalUnits.Ratio, "test")];

        public List<ScopedThing> Seen { get; } = [];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            var thing = writer.Services.GetRequiredService<ScopedThing>();
            Assert.Same(thing, writer.Services.GetRequiredService<ScopedThing>()); // one scope for the whole tick
            lock (Seen)
            {
                Seen.Add(thing);
            }

            writer.Write(0, 0.9);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ScopedHealer(string name) : IHealer
    {
        public string Name => name;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.Process;

        public List<ScopedThing> Seen { get; } = [];

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                Seen.Add(context.Services!.GetRequiredService<ScopedThing>());
            }

            return ValueTask.FromResult(HealOutcome.Healed());
        }
    }
}
