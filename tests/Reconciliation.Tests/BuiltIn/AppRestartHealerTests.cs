using Microsoft.Extensions.Hosting;
using Reconciliation.BuiltIn;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.BuiltIn;

public sealed class AppRestartHealerTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task It_is_destructive_and_asks_the_host_to_stop_gracefully()
    {
        var lifetime = new RecordingLifetime();
        var healer = new AppRestartHealer(lifetime);
        var context = new HealContext("r", Signal, "process", 0.9, 0.8, RuleSeverity.Unhealthy, default, 1, dryRun: false);

        var outcome = await healer.HealAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal(AppRestartHealer.HealerName, healer.Name);
        Assert.True(healer.IsDestructive);
        Assert.Equal(HealScope.Process, healer.Scope);
        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Equal(1, lifetime.StopCalls);
    }

    [Fact]
    public async Task Through_the_engine_it_never_stops_the_host_without_opt_in()
    {
        var lifetime = new RecordingLifetime();
        await using var harness = Build(lifetime, allow: false);

        await harness.TickAsync();
        await harness.NextTickAsync();
        await harness.NextTickAsync();

        Assert.Equal(0, lifetime.StopCalls);
    }

    [Fact]
    public async Task Through_the_engine_it_stops_the_host_when_opted_in()
    {
        var lifetime = new RecordingLifetime();
        await using var harness = Build(lifetime, allow: true);

        await harness.TickAsync();
        var report = await harness.NextTickAsync();

        Assert.Equal(1, lifetime.StopCalls);
        Assert.Equal((AppRestartHealer.HealerName, HealOutcomeKind.Healed), (Assert.Single(report.Heals).Healer, report.Heals[0].Outcome.Kind));
    }

    [Fact]
    public async Task Without_a_host_it_is_still_registered_and_fails_with_a_reason_instead_of_breaking_the_container()
    {
        var probe = new TestProbe("db", Signal);
        probe.Set(0.9);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe).AllowDestructive(AppRestartHealer.HealerName)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(AppRestartHealer.HealerName); }));

        await harness.TickAsync();
        var heal = Assert.Single((await harness.NextTickAsync()).Heals);

        Assert.Equal(HealOutcomeKind.Failed, heal.Outcome.Kind);
        Assert.Contains("IHostApplicationLifetime", heal.Outcome.Reason, StringComparison.Ordinal);
    }

    [Theory]
    // restarts (minutes ago, newest first), K, window, pause (minutes) → paused until (minutes from now) or null
    [InlineData("", 3, 60, 180, null)]
    [InlineData("1,2", 3, 60, 180, null)]                 // two restarts: below K
    [InlineData("1,2,3", 3, 60, 180, 179)]                // three within the hour: paused 3 h from the newest
    [InlineData("1,30,70", 3, 60, 180, null)]             // spread over 69 minutes: not a loop
    [InlineData("170,175,179", 3, 60, 180, 10)]           // the loop ended 170 min ago: 10 min of pause left
    [InlineData("181,185,190", 3, 60, 180, null)]         // its pause is over
    [InlineData("5,100,101,102", 3, 60, 180, 80)]         // an older loop still pauses even after a lone later restart
    [InlineData("0", 1, 60, 180, 180)]                    // K = 1: every restart pauses
    public void The_crash_loop_breaker_opens_on_K_restarts_within_the_window_and_stays_open_for_the_pause(
        string minutesAgo, int k, int windowMinutes, int pauseMinutes, int? expectedMinutesFromNow)
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var restarts = minutesAgo.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(m => now.AddMinutes(-int.Parse(m, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var options = new AppRestartOptions { CrashLoopRestarts = k, CrashLoopWindow = TimeSpan.FromMinutes(windowMinutes), CrashLoopPause = TimeSpan.FromMinutes(pauseMinutes) };

        var until = AppRestartGuard.CrashLoopPausedUntil(restarts, options, now);

        Assert.Equal(expectedMinutesFromNow is { } m ? now.AddMinutes(m) : null, until);
    }

    [Theory]
    [InlineData("", 1, null)]
    [InlineData("3", 1, 7)]        // one restart 3 minutes ago, one allowed per 10 minutes: 7 minutes to go
    [InlineData("3", 2, null)]
    [InlineData("2,8", 2, 2)]      // the older of the two leaves the window in 2 minutes
    public void The_fleet_guard_holds_while_the_window_has_as_many_restarts_as_allowed(string minutesAgo, int max, int? expectedMinutesFromNow)
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var restarts = minutesAgo.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(m => now.AddMinutes(-int.Parse(m, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var options = new AppRestartOptions { MaxFleetRestarts = max, FleetWindow = TimeSpan.FromMinutes(10) };

        Assert.Equal(expectedMinutesFromNow is { } m ? now.AddMinutes(m) : null, AppRestartGuard.FleetGuardUntil(restarts, options));
    }

    [Fact]
    public async Task The_crash_loop_breaker_outlives_restarts_when_the_journal_does()
    {
        // One journal and one lease store that outlive the process (as a shared PostgreSQL or Redis journal does);
        // each harness is one lifetime of the same replica, restarted by its supervisor after app.restart stopped it.
        var journal = new InMemoryHealJournal();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var lease = new InMemoryHealLease(time);
        var stops = new List<int>();
        for (var lifetimeNumber = 1; lifetimeNumber <= 4; lifetimeNumber++)
        {
            var lifetime = new RecordingLifetime();
            await using (var harness = Build(lifetime, allow: true, journal, lease, time, replica: "api-0"))
            {
                await harness.TickAsync();
                var heal = Assert.Single((await harness.NextTickAsync()).Heals);
                stops.Add(lifetime.StopCalls);
                if (lifetimeNumber == 4)
                {
                    Assert.Equal(HealOutcomeKind.Skipped, heal.Outcome.Kind);
                    Assert.StartsWith("crash-loop breaker open: 3 restarts of replica api-0 within 01:00:00; no restart before 2026-01-01 03:", heal.Outcome.Reason, StringComparison.Ordinal);
                }
            }

            time.Advance(TimeSpan.FromMinutes(11)); // the supervisor starts it again; the fleet guard's window has passed
        }

        Assert.Equal([1, 1, 1, 0], stops);
    }

    [Fact]
    public async Task The_fleet_guard_lets_one_replica_restart_per_window_and_says_why_the_others_wait()
    {
        var journal = new InMemoryHealJournal();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var lease = new InMemoryHealLease(time);
        var first = new RecordingLifetime();
        var second = new RecordingLifetime();
        await using var a = Build(first, allow: true, journal, lease, time, replica: "api-0");
        await using var b = Build(second, allow: true, journal, lease, time, replica: "api-1");

        await a.TickAsync();
        await b.TickAsync();
        time.Advance(EngineHarness.Interval);
        var healA = Assert.Single((await a.TickAsync()).Heals);
        var healB = Assert.Single((await b.TickAsync()).Heals);

        Assert.Equal((1, 0), (first.StopCalls, second.StopCalls));
        Assert.Equal(HealOutcomeKind.Healed, healA.Outcome.Kind);
        Assert.Equal(HealOutcomeKind.Skipped, healB.Outcome.Kind);
        Assert.Equal("fleet guard: another replica is restarting", healB.Outcome.Reason);
    }

    private static EngineHarness Build(RecordingLifetime lifetime, bool allow, IHealJournal journal, IHealLease lease, Microsoft.Extensions.Time.Testing.FakeTimeProvider time, string replica)
    {
        var probe = new TestProbe("db", Signal);
        probe.Set(0.9);
        return EngineHarness.Create(services =>
        {
            services.AddSingleton<IHostApplicationLifetime>(lifetime);
            services.AddSingleton(journal);
            services.AddSingleton(lease);
            var builder = services.AddStateReconciliation(o =>
                {
                    o.WarmUp = TimeSpan.Zero;
                    o.Interval = EngineHarness.Interval;
                    o.ReplicaId = replica;
                    o.AppRestart.CrashLoopRestarts = 3;
                    o.AppRestart.CrashLoopWindow = TimeSpan.FromHours(1);
                    o.AppRestart.CrashLoopPause = TimeSpan.FromHours(3);
                })
                .AddProbe(_ => probe)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(AppRestartHealer.HealerName); });
            if (allow)
            {
                builder.AllowDestructive(AppRestartHealer.HealerName);
            }
        }, time);
    }

    private static EngineHarness Build(RecordingLifetime lifetime, bool allow)
    {
        var probe = new TestProbe("db", Signal);
        probe.Set(0.9);
        return EngineHarness.Create(services =>
        {
            services.AddSingleton<IHostApplicationLifetime>(lifetime);
            var builder = services.AddStateReconciliation(o => { o.WarmUp = TimeSpan.Zero; o.Interval = EngineHarness.Interval; })
                .AddProbe(_ => probe)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(AppRestartHealer.HealerName); });
            if (allow)
            {
                builder.AllowDestructive(AppRestartHealer.HealerName);
            }
        });
    }

    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        private int _stopCalls;

        public int StopCalls => Volatile.Read(ref _stopCalls);

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Interlocked.Increment(ref _stopCalls);
    }
}
