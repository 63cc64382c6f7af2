using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Coordination;

/// <summary>
/// A restarted replica resumes its episode from its saved rule state: the same violation (opened when it opened), its
/// attempts (MaxAttempts is not reset), its healer, its backoff, its For timer and the budget pause.
/// Each harness is one lifetime of the replica; the store and the journal outlive it, as a shared store does.
/// </summary>
public sealed class RuleStateResumeTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_restarted_replica_resumes_the_open_violation_and_its_attempts_continue()
    {
        var store = new SavedState();
        var journal = new InMemoryHealJournal();
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("not fixed") };

        await using (var first = Build(store, journal, time, probe, healer))
        {
            await first.TickAsync();                                     // opens
            await first.NextTickAsync();                                 // attempt 1 fails
            await first.NextTickAsync(TimeSpan.FromMinutes(2));          // attempt 2 fails (after its backoff)
            await first.Engine.WhenStateSavedAsync();
            Assert.Equal(2, healer.Calls);
        }

        Assert.Equal(Start, Assert.Single(store.Saved.Rules).OpenedAt);
        time.Advance(TimeSpan.FromMinutes(5));                           // down for a while
        await using var second = Build(store, journal, time, probe, healer);
        var resumed = Assert.Single((await second.TickAsync()).Violations);
        Assert.Equal(Start, resumed.OpenedAt);                           // the same episode
        Assert.Equal(2, resumed.Attempts);

        for (var i = 0; i < 6; i++)
        {
            await second.NextTickAsync(TimeSpan.FromMinutes(1));
        }

        // MaxAttempts 3 within the window: one more attempt, then the rule's healers are used up.
        Assert.Equal(3, healer.Calls);
        Assert.Equal(ViolationState.Exhausted, Assert.Single(second.Reconciler.LatestReport!.Violations).State);
    }

    [Fact]
    public async Task A_violation_opened_in_the_tick_the_host_stops_is_saved_though_the_tick_was_cancelled()
    {
        // app.restart stops the host in the very tick its violation opened: the stop cancels the tick while it waits
        // for its heals, and the state must still be saved, or the restarted replica starts a fresh episode.
        var store = new SavedState();
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "demo.load");
        var healer = new TestHealer("fix") { Gate = new TaskCompletionSource() };
        await using var harness = Build(store, new InMemoryHealJournal(), time, probe, healer);
        await harness.TickAsync();

        probe.Set(0.9);
        time.Advance(EngineHarness.Interval);
        using var stopping = new CancellationTokenSource();
        var tick = harness.Reconciler.ReconcileOnceAsync(stopping.Token);
        await healer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await stopping.CancelAsync(); // the host stops while the tick waits for the heal it just started
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tick);
        await harness.Engine.WhenStateSavedAsync();

        Assert.Equal(Start + EngineHarness.Interval, Assert.Single(store.Saved.Rules).OpenedAt);
        healer.Gate.SetResult();
    }

    [Theory]
    [InlineData(true, false)]   // killed: the process never journaled the heal it was running
    [InlineData(false, false)]  // stopped gracefully: it journaled the heal as cancelled itself
    [InlineData(false, true)]   // the same, with a store that keeps microseconds (as PostgreSQL does), not .NET's 100 ns
    public async Task A_heal_running_when_the_process_ended_counts_as_a_failed_attempt_once(bool killed, bool microseconds)
    {
        var store = new SavedState();
        IHealJournal journal = microseconds ? new MicrosecondJournal() : new InMemoryHealJournal();
        var time = new FakeTimeProvider(Start.AddTicks(1234)); // a start time finer than a microsecond
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var hanging = new TestHealer("fix") { Gate = new TaskCompletionSource() }; // e.g. a healer that crashes its own process
        // A killed process's late writes land nowhere: its lifetime gets a journal nobody reads afterwards.
        var first = Build(store, killed ? new InMemoryHealJournal() : journal, time, probe, hanging, maxAttempts: 2);
        await first.TickAsync();
        var tick = first.NextTickAsync();
        await hanging.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        time.Advance(EngineHarness.Interval / 2);
        await tick;
        await first.Engine.WhenStateSavedAsync();
        Assert.Equal("fix", Assert.Single(store.Saved.Rules).RunningHealer);
        if (!killed)
        {
            await first.Engine.StopHealsAsync(TestContext.Current.CancellationToken); // the host stops: the heal is cancelled and journaled
        }

        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("not fixed") };
        await using var second = Build(store, journal, time, probe, healer, maxAttempts: 2);
        var resumed = Assert.Single((await second.TickAsync()).Violations);
        Assert.Equal(1, resumed.Attempts);
        var attempts = (await journal.RecentAsync(10, TestContext.Current.CancellationToken)).Where(r => r.IsAttempt).ToList();
        var interrupted = Assert.Single(attempts);                         // once, however it ended
        Assert.Equal((HealOutcomeKind.Failed, "api-0"), (interrupted.Outcome, interrupted.Replica));
        Assert.True((interrupted.StartedAt - (Start.AddTicks(1234) + EngineHarness.Interval)).Duration() < TimeSpan.FromMicroseconds(1));

        for (var i = 0; i < 10; i++)
        {
            await second.NextTickAsync(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(1, healer.Calls);                                     // MaxAttempts 2: the interrupted heal was the first
        hanging.Gate.SetResult();
        await first.DisposeAsync();
    }

    [Fact]
    public async Task A_For_timer_resumes_where_it_stopped_and_the_downtime_does_not_count()
    {
        var store = new SavedState();
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var forFiveMinutes = TimeSpan.FromMinutes(5);

        await using (var first = Build(store, new InMemoryHealJournal(), time, probe, new TestHealer("fix"), forFiveMinutes))
        {
            await first.TickAsync();
            for (var i = 0; i < 18; i++)
            {
                await first.NextTickAsync();                             // 3 minutes of breach
            }

            await first.Engine.WhenStateSavedAsync();
        }

        Assert.Equal(TimeSpan.FromMinutes(3), Assert.Single(store.Saved.Rules).Pending);
        time.Advance(TimeSpan.FromMinutes(30));                          // down: no readings, not counted
        await using var second = Build(store, new InMemoryHealJournal(), time, probe, new TestHealer("fix"), forFiveMinutes);
        Assert.Empty((await second.TickAsync()).Violations);
        for (var i = 0; i < 11; i++)
        {
            Assert.Empty((await second.NextTickAsync()).Violations);    // 3 min + 1 min 50 s
        }

        Assert.Single((await second.NextTickAsync()).Violations);        // 3 min + 2 min: opens, not 5 minutes after the restart
    }

    [Fact]
    public async Task A_budget_pause_outlives_a_restart()
    {
        var store = new SavedState();
        var time = new FakeTimeProvider(Start);
        var journal = new InMemoryHealJournal();
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("not fixed") };
        var budget = new HealBudgetOptions { MaxHeals = 1, Window = TimeSpan.FromHours(1), Pause = TimeSpan.FromHours(2) };

        await using (var first = Build(store, journal, time, probe, healer, budget: budget))
        {
            await first.TickAsync();
            await first.NextTickAsync();                                 // the one heal the budget allows
            var paused = await first.NextTickAsync(TimeSpan.FromMinutes(5));
            Assert.NotNull(paused.HealingPausedUntil);
            await first.Engine.WhenStateSavedAsync();
        }

        Assert.NotNull(store.Saved.BudgetPausedUntil);
        await using var second = Build(store, journal, time, probe, healer, budget: budget);
        await second.TickAsync();
        var report = await second.NextTickAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(store.Saved.BudgetPausedUntil, report.HealingPausedUntil);
        Assert.Equal(1, healer.Calls);
    }

    [Fact]
    public async Task A_store_unreachable_at_start_is_never_overwritten_with_a_fresh_state_and_is_read_once_back()
    {
        var store = new SavedState();
        var saved = new RuleStateSnapshot([new RuleState("load", "db") { OpenedAt = Start, Attempts = 2, Healer = "fix", HealerAttempts = 2, NextAttemptAt = Start }], null);
        store.Saved = saved;
        store.Down = true;
        var time = new FakeTimeProvider(Start.AddHours(1));
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);

        await using var harness = Build(store, new InMemoryHealJournal(), time, probe, new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("no") });
        await harness.TickAsync();
        await harness.NextTickAsync();
        Assert.Same(saved, store.Saved);                                 // nothing written over it while it could not be read
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "RuleStateFailed");

        store.Down = false;
        var report = await harness.NextTickAsync();
        await harness.Engine.WhenStateSavedAsync();
        // This process had already opened its own episode: it keeps it (and saves it), rather than mixing two.
        Assert.Equal(Start.AddHours(1), Assert.Single(report.Violations).OpenedAt);
        Assert.Equal(Start.AddHours(1), Assert.Single(store.Saved.Rules).OpenedAt);
    }

    [Fact]
    public async Task A_healthy_tick_saves_nothing_and_a_closed_violation_is_removed_from_the_saved_state()
    {
        var store = new SavedState();
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.1);
        await using var harness = Build(store, new InMemoryHealJournal(), time, probe, new TestHealer("fix"));

        await harness.TickAsync();
        await harness.NextTickAsync();
        Assert.Equal(0, store.Saves);

        probe.Set(0.9);
        await harness.NextTickAsync();
        await harness.Engine.WhenStateSavedAsync();
        Assert.Single(store.Saved.Rules);
        probe.Set(0.1);
        await harness.NextTickAsync();
        await harness.Engine.WhenStateSavedAsync();
        Assert.Empty(store.Saved.Rules);
    }

    private static EngineHarness Build(SavedState store, IHealJournal journal, FakeTimeProvider time, TestProbe probe, TestHealer healer,
        TimeSpan? @for = null, HealBudgetOptions? budget = null, int maxAttempts = 3) =>
        EngineHarness.Create(services =>
        {
            services.AddSingleton(journal);
            services.AddSingleton<IRuleStateStore>(store);
            services.AddStateReconciliation(o =>
                {
                    o.Interval = EngineHarness.Interval;
                    o.WarmUp = TimeSpan.Zero;
                    o.ReplicaId = "api-0";
                    o.HealBudget = budget ?? new HealBudgetOptions();
                    o.Healers["fix"] = new HealPolicyOptions { MaxAttempts = maxAttempts, Window = TimeSpan.FromHours(1), Cooldown = TimeSpan.FromMinutes(1), Timeout = TimeSpan.FromHours(1) };
                })
                .AddProbe(_ => probe)
                .AddHealer(_ => healer)
                .AddRule("load", r =>
                {
                    r.Signal = "demo.load";
                    r.Above = 0.5;
                    if (@for is { } wait)
                    {
                        r.For = wait;
                    }

                    r.Heal.Add("fix");
                });
        }, time);

    /// <summary>A journal that keeps start times to the microsecond, as PostgreSQL's timestamptz does.</summary>
    private sealed class MicrosecondJournal : DelegatingHealJournal
    {
        public override ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken) =>
            Inner.RecordAsync(record with { StartedAt = new DateTimeOffset(record.StartedAt.UtcTicks / 10 * 10, TimeSpan.Zero) }, cancellationToken);
    }

    /// <summary>A store that outlives the harness, as a database does; <see cref="Down"/> makes every call fail.</summary>
    private sealed class SavedState : IRuleStateStore
    {
        public RuleStateSnapshot Saved { get; set; } = RuleStateSnapshot.Empty;

        public bool Down { get; set; }

        public int Saves { get; private set; }

        public ValueTask<RuleStateSnapshot> LoadAsync(string replica, CancellationToken cancellationToken) =>
            Down ? throw new InvalidOperationException("state store is down") : ValueTask.FromResult(Saved);

        public ValueTask SaveAsync(string replica, RuleStateSnapshot state, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new InvalidOperationException("state store is down");
            }

            Saves++;
            Saved = state;
            return ValueTask.CompletedTask;
        }
    }
}
