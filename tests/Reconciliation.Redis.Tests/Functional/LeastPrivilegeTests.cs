using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>The ACL documented in docs/redis.md is enough for the probe and every healer.</summary>
public sealed class LeastPrivilegeTests
{
    [Fact]
    public async Task The_documented_least_privilege_ACL_user_runs_the_probe_and_all_three_healers()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using (var root = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            var db = root.GetDatabase();
            // Exactly the lines of docs/redis.md, "Commands and ACL permissions".
            await db.ExecuteAsync("ACL", "SETUSER", "reconciler", "on", ">secret", "-@all", "+info", "+ping", "+client|setname", "+client|info", "+client|id", "+echo", "+hello", "+subscribe", "&__Booksleeve_MasterChanged");
            await db.ExecuteAsync("ACL", "SETUSER", "reconciler", "+config|get", "+config|set");
            await db.ExecuteAsync("ACL", "SETUSER", "reconciler", "+scan", "+unlink", "~myapp:cache:*");
            await db.StringSetAsync("myapp:cache:1", "v");
            await db.StringSetAsync("myapp:other:1", "v");
        }

        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o =>
            {
                o.MaxMemoryPolicy = "allkeys-lru";
                o.OwnsMaxMemoryPolicy = true;
                o.EvictPrefix = "myapp:cache:";
                o.AdminConnectionFactory = async _ =>
                {
                    var options = ConfigurationOptions.Parse(redis.Configuration(allowAdmin: true));
                    options.User = "reconciler";
                    options.Password = "secret";
                    options.TieBreaker = string.Empty;
                    return await ConnectionMultiplexer.ConnectAsync(options);
                };
            })
            .AddRule("eviction-policy", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); }));

        var first = await harness.TickAsync();
        Assert.Empty(first.ProbeFailures);
        Assert.Equal(1, first.ValueOf(RedisSignalNames.PolicyDrift, "redis")); // the server runs noeviction
        Assert.NotNull(first.ValueOf(RedisSignalNames.ClientsUsage, "redis"));

        var healed = await harness.NextTickAsync();
        Assert.Equal(HealOutcomeKind.Healed, Assert.Single(healed.Heals).Outcome.Kind);
        Assert.Equal(0, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.PolicyDrift, "redis"));

        var evict = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.EvictPrefix && h.AppliesTo("redis"));
        var context = new HealContext("memory", RedisSignalNames.MemoryUsage, "redis", 1, 0.9, RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, false);
        Assert.Equal(HealOutcomeKind.Healed, (await evict.HealAsync(context, TestContext.Current.CancellationToken)).Kind);
        Assert.False(await app.GetDatabase().KeyExistsAsync("myapp:cache:1"));
        Assert.True(await app.GetDatabase().KeyExistsAsync("myapp:other:1"));

        // The reconnect healer: the rebuilt connection uses the same user and answers PING.
        await harness.Services.GetRequiredKeyedService<RedisResource>("redis").Admin.Current!.CloseAsync();
        var reconnect = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.Reconnect && h.AppliesTo("redis"));
        Assert.Equal(HealOutcomeKind.Healed, (await reconnect.HealAsync(context, TestContext.Current.CancellationToken)).Kind);
        Assert.Equal(0, (await harness.NextTickAsync()).ValueOf(SignalNames.ProbeFailed, "redis"));
    }
}
