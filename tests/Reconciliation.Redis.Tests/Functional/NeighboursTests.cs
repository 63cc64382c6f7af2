using Microsoft.Extensions.DependencyInjection;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>
/// "Do no harm" on a shared Redis: another application that owns the eviction policy, an owner that flips it back, a
/// limit below what is used, and keys outside the app's prefix. Each test counts what was touched: expected 0.
/// </summary>
public sealed class NeighboursTests
{
    private static RedisServerOptions QueueOwnsThePolicy => new() { MaxMemoryPolicy = "noeviction", MaxMemoryBytes = 64L * 1024 * 1024 };

    [Fact]
    public async Task Without_declared_ownership_drift_is_reported_and_the_other_apps_policy_is_never_overwritten()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(QueueOwnsThePolicy);
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = (await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true))).GetServers()[0];
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o => o.MaxMemoryPolicy = "allkeys-lru")
            .AddRule("eviction-policy", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); }));

        var first = await harness.TickAsync();
        var second = await harness.NextTickAsync();

        Assert.Equal(1, first.ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        var heal = Assert.Single(second.Heals);
        Assert.Equal(HealOutcomeKind.Skipped, heal.Outcome.Kind);
        Assert.Contains("does not own", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal("noeviction", (await server.ConfigGetAsync("maxmemory-policy")).Single().Value);
        Assert.Equal(0, await CallsAsync(server, "config|set"));
    }

    [Fact]
    public async Task An_owner_that_sets_the_policy_back_is_a_conflict_and_set_policy_stops_rather_than_fight()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(QueueOwnsThePolicy);
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = (await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true))).GetServers()[0];
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.OwnsMaxMemoryPolicy = true; })
            .AddRule("eviction-policy", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); })
            .ConfigureHealer(RedisHealerNames.SetPolicy, p => p.Cooldown = TimeSpan.Zero));

        await harness.TickAsync();
        var healed = await harness.NextTickAsync();
        Assert.Equal(HealOutcomeKind.Healed, Assert.Single(healed.Heals).Outcome.Kind);
        Assert.Equal(0, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.PolicyConflict, "redis"));

        // The second "application" (a job queue that needs noeviction) sets it back.
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        var setsBefore = await CallsAsync(server, "config|set");
        for (var i = 0; i < 4; i++)
        {
            var report = await harness.NextTickAsync();
            Assert.Equal(1, report.ValueOf(RedisSignalNames.PolicyConflict, "redis"));
            Assert.All(report.Heals, h =>
            {
                Assert.Equal(HealOutcomeKind.Skipped, h.Outcome.Kind);
                Assert.Contains("conflict", h.Outcome.Reason, StringComparison.Ordinal);
            });
        }

        Assert.Equal("noeviction", (await server.ConfigGetAsync("maxmemory-policy")).Single().Value);
        Assert.Equal(setsBefore, await CallsAsync(server, "config|set")); // never flipped back
    }

    [Fact]
    public async Task A_maxmemory_below_used_memory_is_refused()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryPolicy = "allkeys-lru" });
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = (await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true))).GetServers()[0];
        var db = app.GetDatabase();
        for (var i = 0; i < 64; i++)
        {
            await db.StringSetAsync("neighbour:blob:" + i, new string('x', 32 * 1024));
        }

        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o =>
        {
            o.MaxMemoryPolicy = "allkeys-lru";
            o.MaxMemory = 1024 * 1024; // 1 MB, below the ~3 MB in use
            o.OwnsMaxMemoryPolicy = true;
        }));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.SetPolicy);
        var outcome = await healer.HealAsync(new HealContext("limit", RedisSignalNames.PolicyDrift, "redis", 1, 0.5, RuleSeverity.Degraded,
            harness.Time.GetUtcNow(), 1, false), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("refusing to set maxmemory 1048576 below used_memory", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal("0", (await server.ConfigGetAsync("maxmemory")).Single().Value);
        Assert.Equal(64, (long)(await db.ExecuteAsync("DBSIZE")));
    }

    [Fact]
    public async Task Evict_prefix_touches_no_key_outside_the_prefix_and_nothing_without_opt_in_or_in_dry_run()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = app.GetDatabase();
        string[] neighbours = ["other:cache:1", "app:cacheX", "app:cache", "APP:cache:1", "app:cach*:1", "xapp:cache:1"];
        foreach (var key in neighbours)
        {
            await db.StringSetAsync(key, "v");
        }

        for (var i = 0; i < 30; i++)
        {
            await db.StringSetAsync("app:cache:" + i, "v");
        }

        foreach (var mode in new[] { "no-opt-in", "dry-run", "opted-in" })
        {
            await using var harness = ReconcilerHarness.Create(b =>
            {
                b.AddRedis(app, o => o.EvictPrefix = "app:cache:")
                    .AddRule("evict-cache", r => { r.Signal = RedisSignalNames.ClientsUsage; r.Above = 0; r.Heal.Add(RedisHealerNames.EvictPrefix); });
                if (mode != "no-opt-in")
                {
                    b.AllowDestructive(RedisHealerNames.EvictPrefix);
                }

                if (mode == "dry-run")
                {
                    b.ConfigureHealer(RedisHealerNames.EvictPrefix, p => p.DryRun = true);
                }
            });
            await harness.TickAsync();
            await harness.NextTickAsync();
            var own = 0;
            for (var i = 0; i < 30; i++)
            {
                own += await db.KeyExistsAsync("app:cache:" + i) ? 1 : 0;
            }

            Assert.Equal(mode == "opted-in" ? 0 : 30, own);
            foreach (var key in neighbours)
            {
                Assert.True(await db.KeyExistsAsync(key), $"{mode}: {key} was touched");
            }
        }
    }

    [Fact]
    public async Task Evict_prefix_honours_the_policys_MaxTargets_and_says_when_it_binds()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = app.GetDatabase();
        for (var i = 0; i < 30; i++)
        {
            await db.StringSetAsync("app:cache:" + i, "v");
        }

        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => { o.EvictPrefix = "app:cache:"; o.EvictBatchSize = 4; }));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.EvictPrefix);
        var outcome = await healer.HealAsync(new HealContext("evict", RedisSignalNames.MemoryUsage, "redis", 1, 0.9, RuleSeverity.Degraded,
            harness.Time.GetUtcNow(), 1, false) { MaxTargets = 10 }, TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Contains("unlinked 10 keys", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("per-heal cap of 10 keys bound", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(20, (long)await db.ExecuteAsync("DBSIZE"));
    }

    [Fact]
    public async Task Evict_prefix_on_a_cluster_scans_every_primary_and_unlinks_only_the_prefix_key_by_key()
    {
        // A one-node Redis Cluster owning every slot: StackExchange.Redis sees a cluster server, as with a real cluster.
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { ExtraArguments = ["--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1"] });
        await using (var setup = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            await setup.GetServers()[0].ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
        }

        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await app.GetDatabase().StringSetAsync("app:cache:{a}1", "v");
                return true;
            }
            catch (RedisServerException)
            {
                return false; // CLUSTERDOWN until the node has taken its slots
            }
        }, "the one-node cluster serves its slots");
        await app.GetDatabase().StringSetAsync("app:cache:{b}2", "v");
        await app.GetDatabase().StringSetAsync("other:cache:{a}1", "v");
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.EvictPrefix = "app:cache:"));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.EvictPrefix);

        var outcome = await healer.HealAsync(new HealContext("evict", RedisSignalNames.MemoryUsage, "redis", 1, 0.9, RuleSeverity.Degraded,
            harness.Time.GetUtcNow(), 1, false), TestContext.Current.CancellationToken);

        // Keys of two different slots: a multi-key UNLINK would be refused (CROSSSLOT); one per key is not.
        Assert.True(outcome.Kind == HealOutcomeKind.Healed, outcome.Reason);
        Assert.Contains("unlinked 2 keys under 'app:cache:' across the cluster's 1 primaries", outcome.Reason, StringComparison.Ordinal);
        Assert.False(await app.GetDatabase().KeyExistsAsync("app:cache:{a}1"));
        Assert.False(await app.GetDatabase().KeyExistsAsync("app:cache:{b}2"));
        Assert.True(await app.GetDatabase().KeyExistsAsync("other:cache:{a}1")); // the neighbour stays
    }

    private static async Task<long> CallsAsync(IServer server, string command)
    {
        foreach (var line in (await server.InfoRawAsync("commandstats"))!.Split('\n'))
        {
            if (line.StartsWith("cmdstat_" + command + ":", StringComparison.Ordinal))
            {
                var value = line[(line.IndexOf("calls=", StringComparison.Ordinal) + 6)..];
                return long.Parse(value[..value.IndexOf(',', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
