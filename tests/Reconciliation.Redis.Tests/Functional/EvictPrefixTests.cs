using Microsoft.Extensions.DependencyInjection;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

public sealed class EvictPrefixTests
{
    [Fact]
    public async Task Without_opt_in_the_destructive_healer_never_runs_and_every_key_stays()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var root = redis.KeyPrefix(nameof(EvictPrefixTests));
        var ours = await FillAsync(app, root + "cache:", 300);
        await using var harness = ReconcilerHarness.Create(b => AlwaysBreaching(b.AddRedis(app, o => o.EvictPrefix = root + "cache:")));

        await harness.TickAsync();
        var second = await harness.NextTickAsync();

        Assert.Empty(second.Heals);
        Assert.Equal(300, await app.GetDatabase().KeyExistsAsync(ours));
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Message.Contains("is destructive and not opted in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Opted_in_it_unlinks_only_the_keys_under_its_prefix()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var root = redis.KeyPrefix(nameof(EvictPrefixTests));
        var ours = await FillAsync(app, root + "cache:", 1_200);
        var theirs = await FillAsync(app, root + "keep:", 50);
        var lookalike = await FillAsync(app, root + "cache", 20); // no colon: not under "cache:"
        await using var harness = ReconcilerHarness.Create(
            b => AlwaysBreaching(b.AddRedis(app, o => { o.EvictPrefix = root + "cache:"; o.EvictBatchSize = 100; })).AllowDestructive(RedisHealerNames.EvictPrefix));

        await harness.TickAsync();
        var healed = await harness.NextTickAsync();

        var heal = Assert.Single(healed.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Contains("1200", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await app.GetDatabase().KeyExistsAsync(ours));
        Assert.Equal(50, await app.GetDatabase().KeyExistsAsync(theirs));
        Assert.Equal(20, await app.GetDatabase().KeyExistsAsync(lookalike));
    }

    [Fact]
    public async Task One_heal_removes_at_most_EvictMaxKeys()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var root = redis.KeyPrefix(nameof(EvictPrefixTests));
        var ours = await FillAsync(app, root + "cache:", 1_200);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => { o.EvictPrefix = root + "cache:"; o.EvictBatchSize = 100; o.EvictMaxKeys = 500; }));

        var outcome = await HealAsync(harness);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Contains("500", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(700, await app.GetDatabase().KeyExistsAsync(ours));
    }

    [Fact]
    public async Task Glob_characters_in_the_prefix_are_literal()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var root = redis.KeyPrefix(nameof(EvictPrefixTests));
        var ours = await FillAsync(app, root + "a*b?:", 30);
        var matchedByAGlob = await FillAsync(app, root + "aXYbZ:", 30);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.EvictPrefix = root + "a*b?:"));

        var outcome = await HealAsync(harness);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Equal(0, await app.GetDatabase().KeyExistsAsync(ours));
        Assert.Equal(30, await app.GetDatabase().KeyExistsAsync(matchedByAGlob));
    }

    [Fact]
    public async Task Nothing_under_the_prefix_is_a_skip_not_a_success()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var root = redis.KeyPrefix(nameof(EvictPrefixTests));
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.EvictPrefix = root + "empty:"));

        Assert.Equal(HealOutcomeKind.Skipped, (await HealAsync(harness)).Kind);
    }

    private static IReconciliationBuilder AlwaysBreaching(IReconciliationBuilder builder) =>
        // Any connected server has clients (at least ours): this rule breaches on every reading and asks for the eviction.
        builder.AddRule("evict-cache", r => { r.Signal = RedisSignalNames.ClientsUsage; r.Above = 0; r.Heal.Add(RedisHealerNames.EvictPrefix); });

    private static async Task<HealOutcome> HealAsync(ReconcilerHarness harness)
    {
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.EvictPrefix && h.AppliesTo("redis"));
        Assert.True(healer.IsDestructive);
        var context = new HealContext("evict-cache", RedisSignalNames.MemoryUsage, "redis", 0.95, 0.9, RuleSeverity.Degraded,
            harness.Time.GetUtcNow(), 1, dryRun: false);
        return await healer.HealAsync(context, TestContext.Current.CancellationToken);
    }

    private static async Task<RedisKey[]> FillAsync(ConnectionMultiplexer app, string prefix, int count)
    {
        var keys = Enumerable.Range(0, count).Select(i => (RedisKey)$"{prefix}{i}").ToArray();
        await app.GetDatabase().StringSetAsync(keys.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v")).ToArray());
        return keys;
    }
}
