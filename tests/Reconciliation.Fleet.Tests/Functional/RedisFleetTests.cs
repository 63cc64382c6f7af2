using System.Security.Cryptography;
using Reconciliation.Fleet.Tests.Support;
using Reconciliation.TestServers;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// Three replicas (separate OS processes) watch one Redis with Redis coordination. The declared maxmemory-policy is
/// changed from outside: exactly one <c>redis.set-policy</c> heal across the fleet, counted in the shared journal and
/// confirmed on the server.
/// </summary>
public sealed class RedisFleetTests
{
    private const string Rule = "eviction-policy";
    private const string SetPolicy = "redis.set-policy";

    [Fact]
    public async Task Three_replicas_restore_a_drifted_policy_with_exactly_one_set_policy_heal()
    {
        var password = "fleet-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions
        {
            Password = password,
            MaxMemoryPolicy = "allkeys-lru",
            MaxMemoryBytes = 64L * 1024 * 1024,
        });
        const string prefix = "fleet-test:";
        await using var fleet = new ReplicaFleet($$"""
            {
              "Reconciliation": {
                "Rules": {
                  "{{Rule}}": { "Signal": "redis.policy.drift", "Resource": "cache", "Above": 0.5, "Heal": [ "{{SetPolicy}}" ] }
                },
                "Healers": { "{{SetPolicy}}": { "Cooldown": "00:01:00" } }
              },
              "Redis": { "cache": { "MaxMemoryPolicy": "allkeys-lru", "OwnsMaxMemoryPolicy": true } }
            }
            """, "--coordination", "redis", "--app-redis", "FLEET_APP_REDIS", "--key-prefix", prefix, "--lease-ttl", "3");
        fleet.SetEnvironment("FLEET_APP_REDIS", redis.ConnectionString, password);
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", redis.ConnectionString, password);
        var replicas = await fleet.StartAsync("r1", "r2", "r3");

        await using var outside = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));
        var server = outside.GetServers()[0];
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        var driftedAt = TimeProvider.System.GetUtcNow();

        // The episode ends when the server has the declared policy back and every replica reports the violation closed.
        await Eventually.UntilAsync(async () => await PolicyAsync(server) == "allkeys-lru", "the declared policy is back on the server",
            TimeSpan.FromSeconds(45));
        var healedAt = TimeProvider.System.GetUtcNow();
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("tick", l => l.At > healedAt && l.Violations().All(v => v.Rule != Rule || v.State == "Closed"),
                "a tick after the heal with no open eviction-policy violation");
        }

        // Counted in the shared journal (read back from Redis in a process of its own).
        var records = await RedisJournal.RecentAsync(redis.ConnectionString, prefix);
        var attempt = Assert.Single(records, r => r.Healer == SetPolicy && r.IsAttempt);
        Assert.Equal(HealOutcomeKind.Healed, attempt.Outcome);
        Assert.True(attempt.StartedAt >= driftedAt.AddSeconds(-1));
        Assert.NotNull(attempt.LeaseToken);

        // Each replica's own account agrees: one Healed set-policy written by one process, none by the others.
        var written = fleet.Lines("journal").Where(x => x.Line.String("healer") == SetPolicy && x.Line.Bool("attempt") == true
            && x.Line.String("outcome") == "Healed" && x.Line.String("result") == "ok").ToList();
        var (holder, _) = Assert.Single(written);
        Assert.Equal(attempt.Replica, holder.Replica);
        foreach (var other in replicas.Where(r => r.Replica != holder.Replica))
        {
            var did = other.Lines.Where(l => (l.Is("event") || l.Is("journal")) && l.String("healer") == SetPolicy)
                .Select(l => $"{l.Type} {l.String("kind") ?? l.String("outcome")}: {l.String("reason")}").ToList();
            TestContext.Current.TestOutputHelper?.WriteLine($"{other.Replica}: {(did.Count == 0 ? "saw the violation close, never started a heal" : string.Join(" | ", did))}");
        }

        Assert.All(replicas, r => Assert.False(r.HasExited));
        fleet.AssertNoSecretPrinted();
    }

    private static async Task<string?> PolicyAsync(IServer server) =>
        (await server.ConfigGetAsync("maxmemory-policy")).FirstOrDefault().Value;
}
