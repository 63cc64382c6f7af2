using Microsoft.Extensions.Time.Testing;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>On a (one-node) Redis Cluster the store's scripts need all their keys in one slot: a hash tag in the prefix.</summary>
public sealed class RedisCoordinationClusterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_a_cluster_a_prefix_without_a_hash_tag_is_refused_clearly_and_one_with_a_tag_works()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { ExtraArguments = ["--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1"] });
        await using (var setup = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            await setup.GetServers()[0].ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
        }

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await connection.GetDatabase().StringSetAsync("probe", "v");
                return true;
            }
            catch (RedisServerException)
            {
                return false; // CLUSTERDOWN until the node has taken its slots
            }
        }, "the one-node cluster serves its slots");

        var untagged = new RedisHealJournal(connection, new RedisCoordinationOptions { KeyPrefix = "plain:" });
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(async () => await untagged.RecordAsync(Attempt("fix", "db", "a", T0, token: 1), Ct));
        Assert.Contains("Reconciliation:Coordination:Redis:KeyPrefix", refused.Message, StringComparison.Ordinal);
        Assert.Contains("hash tag", refused.Message, StringComparison.Ordinal);

        var options = new RedisCoordinationOptions { KeyPrefix = "{fleet}:" };
        var lease = new RedisHealLease(connection, options, "a", new FakeTimeProvider());
        var journal = new RedisHealJournal(connection, options);
        await using var db = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        await using var cache = await lease.TryAcquireAsync("cache", TimeSpan.FromMinutes(1), Ct);
        await journal.RecordAsync(Attempt("fix", "db", "a", T0, token: db!.FencingToken), Ct);
        await journal.RecordAsync(Attempt("fix", "cache", "a", T0, token: cache!.FencingToken), Ct);
        Assert.Equal(2, await journal.CountAllAttemptsAsync(T0, Ct));
        Assert.Equal(RuleStateSnapshot.Empty, await new RedisRuleStateStore(connection, options).LoadAsync("a", Ct));
    }
}
