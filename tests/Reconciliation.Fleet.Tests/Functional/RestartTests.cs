using System.Text.Json;
using Npgsql;
using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// Replicas restarted for real (SIGKILL, or <c>app.restart</c>'s own graceful stop with the test as the supervisor) on
/// PostgreSQL coordination: a restarted replica resumes its open violation and its attempts, and a restart loop driven by
/// <c>app.restart</c> stops at the crash-loop breaker's limit.
/// </summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_replica_killed_mid_violation_resumes_the_same_violation_and_its_attempts_continue()
    {
        var database = await DatabaseAsync("restart_resume");
        // fleet.local is process-scoped: MaxAttempts counts this replica's own attempts, from the journal, across restarts.
        await using var fleet = new ReplicaFleet(FleetRules.Json(FleetRules.Local,
            localPolicy: """{ "Cooldown": "00:00:06", "MaxBackoff": "00:00:06", "MaxAttempts": 2, "Window": "00:10:00" }"""),
            "--coordination", "postgres", "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", database.ConnectionString, database.Password);
        fleet.SetFault("local", 1);
        var first = fleet.Start("r1");

        await first.WaitForAsync("journal", l => l.String("healer") == FleetRules.Local && l.Bool("attempt") == true && l.String("result") == "ok",
            "the first attempt is journaled");
        var opened = (await first.WaitForAsync("tick", l => l.Violations().Any(v => v.Rule == FleetRules.LocalRule && v.Attempts == 1), "a tick showing attempt 1"))
            .Violations().Single(v => v.Rule == FleetRules.LocalRule).OpenedAt;
        await Eventually.UntilAsync(async () => SavedAttempts(await Journal.RuleStateAsync(database.ConnectionString, "r1")) >= 1,
            "the replica saved its violation with one attempt");

        await first.KillAsync();
        var journaled = (await Journal.RowsAsync(database.ConnectionString)).Count(r => r.Healer == FleetRules.Local && r.IsAttempt);
        Assert.True(journaled == 1, $"{journaled} attempts before the kill: the cooldown (6 s) should have held the second back");

        var second = fleet.Start("r1");
        await second.WaitForAsync("log", l => l.String("event") == "RuleStateResumed", "the restarted replica resumes its saved state");
        var resumed = await second.WaitForAsync("tick", l => l.Violations().Any(v => v.Rule == FleetRules.LocalRule), "a tick showing the violation");
        var violation = resumed.Violations().Single(v => v.Rule == FleetRules.LocalRule);
        Assert.Equal(opened, violation.OpenedAt); // the same episode, not a fresh one
        Assert.Equal(1, violation.Attempts);

        // One attempt is left of MaxAttempts 2: it runs, fails its verdict, and the violation is exhausted.
        await second.WaitForAsync("event", l => l.String("kind") == "ViolationExhausted" && l.String("rule") == FleetRules.LocalRule,
            "the violation is exhausted after the remaining attempt", TimeSpan.FromSeconds(45));
        var attempts = (await Journal.RowsAsync(database.ConnectionString)).Where(r => r.Healer == FleetRules.Local && r.IsAttempt).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal("r1", a.Replica));
        Assert.Single(second.Lines, l => l.Is("journal") && l.String("healer") == FleetRules.Local && l.Bool("attempt") == true);
        Assert.Contains(second.Lines, l => l.Is("tick") && l.Violations().Any(v => v.Rule == FleetRules.LocalRule && v.OpenedAt == opened && v.Attempts == 2));
        fleet.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task A_restart_loop_driven_by_app_restart_stops_at_the_crash_loop_breaker_and_the_host_keeps_running()
    {
        var database = await DatabaseAsync("restart_loop");
        await using var fleet = new ReplicaFleet(FleetRules.Json("app.restart",
            localPolicy: """{ "Cooldown": "00:00:02", "MaxBackoff": "00:00:02", "MaxAttempts": 100, "Window": "00:10:00" }""",
            extra: """
                "AllowDestructive": [ "app.restart" ],
                "AppRestart": { "CrashLoopRestarts": 2, "CrashLoopWindow": "00:10:00", "CrashLoopPause": "00:10:00", "MaxFleetRestarts": 100, "FleetWindow": "00:10:00" },
                """),
            "--coordination", "postgres", "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", database.ConnectionString, database.Password);
        fleet.SetFault("local", 1);

        // The test is the supervisor: each time the host stops itself, it is started again, up to a bound.
        var restarts = 0;
        ReplicaProcess current = fleet.Start("r1");
        HostLine? breaker = null;
        while (breaker is null)
        {
            var process = current;
            var settled = await Eventually.HoldsAsync(() => Task.FromResult(process.HasExited || BreakerLine(process) is not null), TimeSpan.FromSeconds(60));
            Assert.True(settled, $"generation {process.Generation} neither stopped itself nor reported the crash-loop breaker");
            if ((breaker = BreakerLine(process)) is not null)
            {
                break;
            }

            Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(10), "it exited"));
            Assert.Contains(process.Lines, l => l.Is("journal") && l.String("healer") == "app.restart" && l.String("outcome") == "Healed" && l.String("result") == "ok");
            restarts++;
            Assert.True(restarts <= 4, "the restart loop did not stop at the breaker (CrashLoopRestarts 2)");
            current = fleet.Start("r1");
        }

        Assert.Equal(2, restarts);
        Assert.Contains("crash-loop breaker open", breaker.String("reason"), StringComparison.Ordinal);

        // After the limit the host keeps running (and ticking), and the journal holds exactly the two restarts.
        for (var i = 0; i < 3; i++)
        {
            var after = current.Count;
            await current.WaitForAsync("tick", _ => true, "the host keeps ticking after the breaker opened", from: after);
        }

        Assert.False(current.HasExited);

        // Every restarted process resumed the episode its predecessor saved: the same violation, opened at the same time.
        var opened = fleet.Processes.Select(p => p.Lines.FirstOrDefault(l => l.Is("tick") && l.Violations().Any(v => v.Rule == FleetRules.LocalRule))
            ?.Violations().Single(v => v.Rule == FleetRules.LocalRule).OpenedAt).ToList();
        Assert.All(opened, o => Assert.Equal(opened[0], o));

        var attempts = (await Journal.RowsAsync(database.ConnectionString)).Where(r => r.Healer == "app.restart" && r.IsAttempt).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal("r1", a.Replica));
        fleet.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task A_replica_stopped_by_app_restart_in_the_tick_its_violation_opened_resumes_that_violation_after_the_restart()
    {
        var database = await DatabaseAsync("restart_same_tick");
        await using var fleet = new ReplicaFleet(FleetRules.Json("app.restart",
            localPolicy: """{ "Cooldown": "00:00:02", "MaxBackoff": "00:00:02", "MaxAttempts": 100, "Window": "00:10:00" }""",
            extra: """
                "AllowDestructive": [ "app.restart" ],
                "AppRestart": { "CrashLoopRestarts": 1, "CrashLoopWindow": "00:10:00", "CrashLoopPause": "00:10:00", "MaxFleetRestarts": 100 },
                """),
            "--coordination", "postgres", "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", database.ConnectionString, database.Password);
        var first = (await fleet.StartAsync("r1"))[0];

        // The fault comes after the warm-up tick: the violation opens and app.restart acts in the same tick.
        fleet.SetFault("local", 1);
        var opened = (await first.WaitForAsync("event", l => l.String("kind") == "ViolationOpened" && l.String("rule") == FleetRules.LocalRule,
            "the violation opens")).Time("timestamp");
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30), "app.restart stopped it"));
        var saved = await Journal.RuleStateAsync(database.ConnectionString, "r1");

        // The supervisor starts it again: it must resume the episode its predecessor was healing, not open a new one.
        var second = fleet.Start("r1");
        var tick = await second.WaitForAsync("tick", l => l.Violations().Any(v => v.Rule == FleetRules.LocalRule), "a tick showing the violation");
        Assert.True(opened == tick.Violations().Single(v => v.Rule == FleetRules.LocalRule).OpenedAt,
            $"the restarted replica opened a new violation instead of resuming the one opened at {opened:O}; the state r1 saved before app.restart stopped it: {saved ?? "(none)"}");
        Assert.Contains(second.Lines, l => l.Is("log") && l.String("event") == "RuleStateResumed");
        fleet.AssertNoSecretPrinted();
    }

    private static HostLine? BreakerLine(ReplicaProcess process) =>
        process.Lines.FirstOrDefault(l => l.Is("event") && l.String("healer") == "app.restart"
            && l.String("reason")?.Contains("crash-loop breaker", StringComparison.Ordinal) == true);

    private static int SavedAttempts(string? state)
    {
        if (state is null)
        {
            return 0;
        }

        using var document = JsonDocument.Parse(state);
        return document.RootElement.TryGetProperty("rules", out var rules)
            ? rules.EnumerateArray().Where(r => r.GetProperty("rule").GetString() == FleetRules.LocalRule).Select(r => r.GetProperty("attempts").GetInt32()).DefaultIfEmpty(0).Max()
            : 0;
    }

    private static async Task<(string ConnectionString, string Password)> DatabaseAsync(string scope)
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(scope);
        return (new NpgsqlConnectionStringBuilder(database) { ApplicationName = "fleet-coordination" }.ConnectionString, pg.Password);
    }
}
