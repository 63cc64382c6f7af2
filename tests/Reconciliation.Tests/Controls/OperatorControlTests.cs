using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Controls;

/// <summary>Each operator control through the real engine on a fake clock: what it holds, what it reports, when it lets go.</summary>
public sealed class OperatorControlTests
{
    private const string Signal = "test.usage";
    private readonly FakeTimeProvider _time = new(At(0));

    [Fact]
    public async Task A_silence_holds_heals_reports_itself_and_when_it_expires_mid_violation_the_next_tick_heals()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), more: b => b.Services.AddHealthChecks().AddReconciliation(),
            options: o => o.SilenceExpiryNotice = TimeSpan.FromSeconds(30), time: _time);
        using var events = harness.Events.Subscribe();
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();
        var silence = await control.AddSilenceAsync(new SilenceRequest { Rule = "r", Duration = TimeSpan.FromSeconds(60), Owner = "alice", Reason = "migration" },
            TestContext.Current.CancellationToken);
        probe.Set(0.9);

        await TickUntilAsync(harness, 50);

        Assert.Equal(0, healer.Calls);
        var held = Assert.Single(harness.Reconciler.LatestReport!.Violations);
        Assert.Equal(silence.Id, held.SilencedBy);
        Assert.Equal($"silenced by '{silence.Id}' (alice: migration) until {HealReasons.Format(At(60))}", held.HeldBack);
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.SilenceExpiring && e.Timestamp == At(30));
        var health = await harness.CheckHealthAsync();
        var entry = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object>>(health.Entries.Values.Single().Data["r/db"]);
        Assert.Equal(held.HeldBack, entry["heldBack"]); // the health check says which silence holds it too

        var t60 = await harness.NextTickAsync();

        Assert.Single(t60.Heals);
        Assert.Equal([At(60)], healer.CalledAt);
        Assert.Null(t60.Violations.Single(v => v.Rule == "r").SilencedBy);
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.SilenceExpired && e.Timestamp == At(60));
        Assert.Empty(control.Silences);
    }

    [Fact]
    public async Task A_silence_of_one_healer_lets_the_rule_s_other_healers_act()
    {
        var probe = new TestProbe("db", Signal);
        var gentle = new TestHealer("gentle", _time);
        var harsh = new TestHealer("harsh", _time);
        await using var harness = Build(probe, [gentle, harsh], r => { r.Heal.Add("gentle"); r.Heal.Add("harsh"); },
            options: o => o.Silences["no-harsh"] = new SilenceOptions { Healer = "harsh", EndsAt = At(3600), Owner = "bob", Reason = "not during the audit" },
            time: _time);
        gentle.Outcome = _ => HealOutcome.Failed("no luck");
        probe.Set(0.9);

        await TickUntilAsync(harness, 1200);

        Assert.Equal(3, gentle.Calls); // its attempts per window
        Assert.Equal(0, harsh.Calls);
        var held = Assert.Single(harness.Reconciler.LatestReport!.Violations);
        Assert.Equal("no-harsh", held.SilencedBy);
        Assert.Equal("harsh", held.CurrentHealer);
    }

    [Fact]
    public async Task A_maintenance_window_in_a_local_time_zone_holds_heals_until_it_closes()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        var window = new MaintenanceWindowOptions { TimeZone = "Europe/Berlin", Rule = "r" };
        window.Times.Add(new TimeRangeOptions { Start = "00:30", End = "01:02" }); // 23:30-00:02 UTC: the clock starts at 00:00 UTC
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), options: o => o.MaintenanceWindows["berlin-night"] = window, time: _time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 110);
        Assert.Equal(0, healer.Calls);
        var held = Assert.Single(harness.Reconciler.LatestReport!.Violations);
        Assert.Equal("berlin-night", held.SilencedBy);
        Assert.Equal("maintenance window 'berlin-night' holds", held.HeldBack);

        await harness.NextTickAsync(); // 00:02 UTC = 01:02 Berlin: the window's end is exclusive
        Assert.Equal([At(120)], healer.CalledAt);
    }

    [Fact]
    public async Task An_open_inhibiting_rule_holds_heals_on_the_same_resource_and_lets_go_when_it_closes()
    {
        var latency = new TestProbe("orders", "test.latency");
        var pool = new TestProbe("orders", "test.pool");
        var rollback = new TestHealer("rollback", _time);
        await using var harness = EngineHarness.Create(null, b =>
        {
            b.AddProbe(_ => latency).AddProbe(_ => pool).AddHealer(_ => rollback)
                .AddRule("pool-saturation", r => { r.Signal = "test.pool"; r.Above = 0.9; })
                .AddRule("latency", r =>
                {
                    r.Signal = "test.latency";
                    r.Above = 500;
                    r.Heal.Add("rollback");
                    r.InhibitedBy.Add("pool-saturation");
                    r.InhibitSameResource = true;
                });
        }, _time);
        pool.Set(1.0);
        latency.Set(900);

        await TickUntilAsync(harness, 60);

        Assert.Equal(0, rollback.Calls);
        var held = harness.Reconciler.LatestReport!.Violations.Single(v => v.Rule == "latency");
        Assert.Equal("pool-saturation", held.InhibitedBy);
        Assert.Equal("inhibited: rule 'pool-saturation' is open", held.HeldBack);

        pool.Set(0.1);
        await harness.NextTickAsync(); // t=70: pool-saturation closes
        await harness.NextTickAsync(); // t=80
        Assert.Equal(1, rollback.Calls);
    }

    [Fact]
    public async Task InhibitAfterClose_keeps_inhibiting_a_lagging_signal_after_its_cause_closed()
    {
        var latency = new TestProbe("orders", "test.latency");
        var pool = new TestProbe("orders-db", "test.pool");
        var rollback = new TestHealer("rollback", _time);
        await using var harness = EngineHarness.Create(null, b =>
        {
            b.AddProbe(_ => latency).AddProbe(_ => pool).AddHealer(_ => rollback)
                .AddRule("pool-saturation", r => { r.Signal = "test.pool"; r.Above = 0.9; })
                .AddRule("latency", r =>
                {
                    r.Signal = "test.latency";
                    r.Above = 500;
                    r.Heal.Add("rollback");
                    r.InhibitedBy.Add("pool-saturation");
                    r.InhibitAfterClose = TimeSpan.FromSeconds(30);
                });
        }, _time);
        pool.Set(1.0);
        await TickUntilAsync(harness, 20);
        pool.Set(0.1);
        await harness.NextTickAsync(); // t=30: the pool recovered; its slow requests now show in the latency window
        latency.Set(900);

        await TickUntilAsync(harness, 50, from: 40);
        Assert.Equal(0, rollback.Calls);
        Assert.Equal($"inhibited: rule 'pool-saturation' closed at {HealReasons.Format(At(30))} and inhibits until {HealReasons.Format(At(60))} (InhibitAfterClose)",
            harness.Reconciler.LatestReport!.Violations.Single(v => v.Rule == "latency").HeldBack);

        await harness.NextTickAsync(); // t=60
        Assert.Equal(1, rollback.Calls);
    }

    [Fact]
    public async Task Approval_mode_propose_publishes_a_proposal_runs_the_heal_once_after_approval_and_journals_who_approved()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time) { Outcome = _ => HealOutcome.Failed("still broken") };
        await using var harness = Build(probe, [healer], r => { r.Heal.Add("fix"); r.Approval = ApprovalMode.Propose; }, time: _time);
        using var events = harness.Events.Subscribe();
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();
        probe.Set(0.9);

        await TickUntilAsync(harness, 60);

        Assert.Equal(0, healer.Calls);
        var proposal = Assert.Single(control.Proposals);
        Assert.Equal(("r", "db", "fix", ProposalState.Pending), (proposal.Rule, proposal.Resource, proposal.Healer, proposal.State));
        Assert.Equal(At(10) + TimeSpan.FromMinutes(30), proposal.ExpiresAt);
        Assert.Equal("do the test thing", proposal.Plan); // the healer's own DescribePlan
        Assert.Equal(proposal.Id, Assert.Single(harness.Reconciler.LatestReport!.Violations).ProposalId);
        Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.HealProposed);

        Assert.True(await control.ApproveAsync(proposal.Id, "carol", "go ahead", TestContext.Current.CancellationToken));
        Assert.False(await control.ApproveAsync(proposal.Id, "dave", null, TestContext.Current.CancellationToken)); // decided already
        await TickUntilAsync(harness, 200, from: 70);

        Assert.Equal(1, healer.Calls); // once: the failed attempt needs a new approval
        var next = Assert.Single(control.Proposals);
        Assert.NotEqual(proposal.Id, next.Id);
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(20, TestContext.Current.CancellationToken);
        Assert.Contains(journal, r => r.Outcome == HealOutcomeKind.Approved && r.Reason!.Contains("approved by carol: go ahead", StringComparison.Ordinal));
        Assert.Equal(2, journal.Count(r => r.Outcome == HealOutcomeKind.Proposed));
        Assert.Single(journal, r => r.IsAttempt);
    }

    [Fact]
    public async Task A_proposal_nobody_decides_expires_is_journaled_and_a_new_one_is_proposed()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => { r.Heal.Add("fix"); r.Approval = ApprovalMode.Propose; },
            options: o => o.ProposalExpiry = TimeSpan.FromSeconds(60), time: _time);
        using var events = harness.Events.Subscribe();
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();
        probe.Set(0.9);

        await TickUntilAsync(harness, 10);
        var first = Assert.Single(control.Proposals);
        await TickUntilAsync(harness, 70, from: 20);

        Assert.Equal(0, healer.Calls);
        var second = Assert.Single(control.Proposals);
        Assert.NotEqual(first.Id, second.Id);
        Assert.False(await control.ApproveAsync(first.Id, "late", null, TestContext.Current.CancellationToken));
        Assert.Contains(Drain(events), e => e.Kind == ReconciliationEventKind.ProposalDecided && e.Reason!.Contains("expired", StringComparison.Ordinal));
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(20, TestContext.Current.CancellationToken);
        Assert.Single(journal, r => r.Outcome == HealOutcomeKind.Expired);
    }

    [Fact]
    public async Task A_rejected_proposal_is_not_healed_while_its_violation_stays_open()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => { r.Heal.Add("fix"); r.Approval = ApprovalMode.Propose; }, time: _time);
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();
        probe.Set(0.9);
        await TickUntilAsync(harness, 10);

        Assert.True(await control.RejectAsync(Assert.Single(control.Proposals).Id, "erin", "not on a Friday", TestContext.Current.CancellationToken));
        await TickUntilAsync(harness, 300, from: 20);

        Assert.Equal(0, healer.Calls);
        Assert.StartsWith("proposal ", Assert.Single(harness.Reconciler.LatestReport!.Violations).HeldBack, StringComparison.Ordinal);
        Assert.Contains("rejected by erin", harness.Reconciler.LatestReport!.Violations[0].HeldBack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approval_mode_off_detects_and_reports_but_never_heals()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            options: o => o.Healers["fix"] = new HealPolicyOptions { Approval = ApprovalMode.Off }, time: _time);
        probe.Set(0.9);

        await TickUntilAsync(harness, 300);

        Assert.Equal(0, healer.Calls);
        Assert.Equal("approval mode Off: detect and report only", Assert.Single(harness.Reconciler.LatestReport!.Violations).HeldBack);
    }

    [Fact]
    public async Task A_rule_that_keeps_reopening_is_muted_as_flapping_then_heals_again_after_the_mute()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time) { Outcome = _ => HealOutcome.Healed("done") };
        await using var harness = Build(probe, [healer], r =>
        {
            r.Heal.Add("fix");
            r.Flapping = new FlappingOptions { MaxOpens = 3, Window = TimeSpan.FromMinutes(30), MuteFor = TimeSpan.FromMinutes(20) };
        }, more: b => b.ConfigureHealer("fix", p => { p.Cooldown = TimeSpan.Zero; p.MaxAttempts = 100; }), time: _time);
        using var events = harness.Events.Subscribe();

        // Open, heal, clear: three episodes, one every 30 s, each healed.
        for (var episode = 0; episode < 3; episode++)
        {
            await EpisodeAsync();
        }

        var healedBefore = healer.Calls;
        Assert.True(healedBefore >= 3);
        await EpisodeAsync(); // the fourth open within 30 minutes trips the breaker
        Assert.Equal(healedBefore, healer.Calls);
        var flapping = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.RuleFlapping);
        Assert.Equal("opened 4 times within 00:30:00: heals muted until " + HealReasons.Format(flapping.Timestamp + TimeSpan.FromMinutes(20)), flapping.Reason);

        probe.Set(0.9);
        var held = await harness.NextTickAsync();
        Assert.True(Assert.Single(held.Violations).IsFlapping);

        _time.Advance(TimeSpan.FromMinutes(20));
        await harness.NextTickAsync();
        Assert.Equal(healedBefore + 1, healer.Calls);

        async Task EpisodeAsync()
        {
            probe.Set(0.9);
            await harness.NextTickAsync();
            await harness.NextTickAsync();
            probe.Set(0.1);
            await harness.NextTickAsync();
        }
    }

    [Fact]
    public async Task KeepFor_holds_a_cleared_violation_open_that_long_without_healing_it_again()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => { r.Heal.Add("fix"); r.KeepFor = TimeSpan.FromSeconds(30); }, time: _time);
        probe.Set(0.9);
        await TickUntilAsync(harness, 10); // healed at t=10
        probe.Set(0.1);

        var t20 = await harness.NextTickAsync();
        var kept = Assert.Single(t20.Violations);
        Assert.NotEqual(ViolationState.Closed, kept.State);
        Assert.Contains("kept open until", kept.HeldBack, StringComparison.Ordinal);
        await TickUntilAsync(harness, 40, from: 30);
        Assert.NotEqual(ViolationState.Closed, Assert.Single(harness.Reconciler.LatestReport!.Violations).State);

        var t50 = await harness.NextTickAsync();
        Assert.Equal(ViolationState.Closed, Assert.Single(t50.Violations).State);
        Assert.Equal(1, healer.Calls);
        var journal = await harness.Provider.GetRequiredService<IHealJournal>().RecentAsync(10, TestContext.Current.CancellationToken);
        Assert.Single(journal, r => r.IsVerdict && r.Outcome == HealOutcomeKind.Healed);
    }

    [Fact]
    public async Task An_operator_pause_holds_every_heal_until_resumed()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix", _time);
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"), time: _time);
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();
        await control.PauseAsync("frank", "incident 42", cancellationToken: TestContext.Current.CancellationToken);
        probe.Set(0.9);

        await TickUntilAsync(harness, 120);
        Assert.Equal(0, healer.Calls);
        Assert.Equal("healing paused by frank (incident 42)", Assert.Single(harness.Reconciler.LatestReport!.Violations).HeldBack);

        Assert.True(await control.ResumeAsync("frank", TestContext.Current.CancellationToken));
        await harness.NextTickAsync();
        Assert.Equal(1, healer.Calls);
    }

    [Fact]
    public async Task A_silence_added_through_one_replica_holds_the_other_replica_sharing_the_store()
    {
        var store = new ProcessControlStore();
        var probeA = new TestProbe("db", Signal);
        var probeB = new TestProbe("db", Signal);
        var healerA = new TestHealer("fix", _time);
        var healerB = new TestHealer("fix", _time);
        await using var a = Build(probeA, [healerA], r => r.Heal.Add("fix"), more: b => b.Services.AddSingleton<IControlStore>(store), time: _time);
        await using var b = Build(probeB, [healerB], r => r.Heal.Add("fix"), more: b => b.Services.AddSingleton<IControlStore>(store), time: _time);
        await a.Provider.GetRequiredService<IReconciliationControl>().AddSilenceAsync(
            new SilenceRequest { Resource = "db", Duration = TimeSpan.FromMinutes(5), Owner = "gina", Reason = "failover" }, TestContext.Current.CancellationToken);
        probeA.Set(0.9);
        probeB.Set(0.9);

        await b.TickAsync();
        await b.NextTickAsync();
        await b.NextTickAsync();

        Assert.Equal(0, healerB.Calls);
        Assert.NotNull(Assert.Single(b.Reconciler.LatestReport!.Violations).SilencedBy);
        Assert.Single(b.Provider.GetRequiredService<IReconciliationControl>().Silences);
    }

    [Fact]
    public async Task A_replica_whose_violation_opened_after_another_replica_proposed_waits_for_that_proposal_and_one_of_them_heals_once()
    {
        var store = new ProcessControlStore();
        var probeA = new TestProbe("db", Signal);
        var probeB = new TestProbe("db", Signal);
        var healerA = new TestHealer("fix", _time);
        var healerB = new TestHealer("fix", _time);
        await using var a = Build(probeA, [healerA], r => { r.Heal.Add("fix"); r.Approval = ApprovalMode.Propose; },
            more: b => b.Services.AddSingleton<IControlStore>(store), time: _time);
        await using var b = Build(probeB, [healerB], r => { r.Heal.Add("fix"); r.Approval = ApprovalMode.Propose; },
            more: b => b.Services.AddSingleton<IControlStore>(store), time: _time);
        var control = a.Provider.GetRequiredService<IReconciliationControl>();
        probeA.Set(0.9);
        await a.TickAsync();
        await b.TickAsync();
        _time.Advance(EngineHarness.Interval);
        await a.TickAsync(); // t=10: A proposes
        var proposal = Assert.Single(control.Proposals);

        probeB.Set(0.9); // B sees the breach only now: its violation opens after A's proposal
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(EngineHarness.Interval);
            await a.TickAsync();
            await b.TickAsync();
        }

        Assert.Single(control.Proposals);
        Assert.Equal(proposal.Id, Assert.Single(b.Reconciler.LatestReport!.Violations).ProposalId);

        Assert.True(await control.ApproveAsync(proposal.Id, "ops", null, TestContext.Current.CancellationToken));
        _time.Advance(EngineHarness.Interval);
        await b.TickAsync();
        await a.TickAsync();

        Assert.Equal(1, healerA.Calls + healerB.Calls);
        Assert.Equal(1, healerB.Calls); // B ticked first and took the approval
        Assert.Contains("ran on another replica", Assert.Single(a.Reconciler.LatestReport!.Violations).HeldBack, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_silences_are_refused_with_the_reason()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = Build(probe, [], r => { }, time: _time);
        var control = harness.Provider.GetRequiredService<IReconciliationControl>();

        var noMatcher = await Assert.ThrowsAsync<ArgumentException>(() => control.AddSilenceAsync(new SilenceRequest { Duration = TimeSpan.FromMinutes(1), Owner = "a", Reason = "b" }));
        var noEnd = await Assert.ThrowsAsync<ArgumentException>(() => control.AddSilenceAsync(new SilenceRequest { Rule = "r", Owner = "a", Reason = "b" }));
        var noOwner = await Assert.ThrowsAsync<ArgumentException>(() => control.AddSilenceAsync(new SilenceRequest { Rule = "r", Duration = TimeSpan.FromMinutes(1), Owner = " ", Reason = "b" }));

        Assert.Contains("pause healing instead", noMatcher.Message, StringComparison.Ordinal);
        Assert.Contains("ends by itself", noEnd.Message, StringComparison.Ordinal);
        Assert.Contains("Owner is required", noOwner.Message, StringComparison.Ordinal);
        Assert.Empty(control.Silences);
    }
}
