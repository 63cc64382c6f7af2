using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// <c>app.restart</c>'s fleet guard on Redis coordination: with <c>AppRestart:MaxFleetRestarts</c> 1, two replicas in
/// the same fault restart once between them, and both then report the guard instead of restarting.
/// </summary>
public sealed class FleetGuardTests
{
    [Fact]
    public async Task Two_replicas_in_the_same_fault_restart_only_once_between_them()
    {
        var redis = await RequireServer.RedisAsync();
        var prefix = redis.KeyPrefix(nameof(FleetGuardTests));
        await using var fleet = new ReplicaFleet(FleetRules.Json("app.restart",
            localPolicy: """{ "Cooldown": "00:00:01", "MaxBackoff": "00:00:01", "MaxAttempts": 100, "Window": "00:10:00" }""",
            extra: """
                "AllowDestructive": [ "app.restart" ],
                "AppRestart": { "MaxFleetRestarts": 1, "FleetWindow": "00:10:00", "CrashLoopRestarts": 100 },
                """),
            "--coordination", "redis", "--key-prefix", prefix, "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", redis.ConnectionString, redis.Password);
        var replicas = await fleet.StartAsync("r1", "r2");
        fleet.SetFault("local", 1);

        // One of them stops itself; the test, as its supervisor, starts it again.
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(replicas.Any(r => r.HasExited)), TimeSpan.FromSeconds(45)), "no replica restarted");
        var restarted = replicas.Single(r => r.HasExited);
        Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(10), "it stopped itself"));
        var other = replicas.Single(r => r != restarted);
        var again = fleet.Start(restarted.Replica);

        // Both running processes now hold back with the fleet guard's reason, and neither restarts again.
        foreach (var process in new[] { other, again })
        {
            await process.WaitForAsync("event", l => l.String("kind") == "HealSkipped" && l.String("healer") == "app.restart"
                && l.String("reason")?.Contains("fleet guard", StringComparison.Ordinal) == true, "the fleet guard holds it back");
        }

        var records = await RedisJournal.RecentAsync(redis.ConnectionString, prefix);
        var restart = Assert.Single(records, r => r.Healer == "app.restart" && r.IsAttempt);
        Assert.Equal(restarted.Replica, restart.Replica);
        Assert.False(other.HasExited);
        Assert.False(again.HasExited);
        Assert.Equal(3, fleet.Processes.Count);
        fleet.AssertNoSecretPrinted();
    }
}
