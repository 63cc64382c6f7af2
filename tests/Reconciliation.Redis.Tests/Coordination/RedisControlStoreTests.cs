using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>The operator controls' compare-and-swap document on a real Redis.</summary>
public sealed class RedisControlStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Writes_are_compare_and_swap_so_of_two_writers_of_one_version_only_the_first_wins()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var store = new RedisControlStore(connection, options);
        Assert.Null(await store.ReadAsync(Ct));

        Assert.True(await store.TryWriteAsync("""{"silences":[]}""", 0, Ct));
        Assert.False(await store.TryWriteAsync("""{"silences":[1]}""", 0, Ct));
        Assert.True(await store.TryWriteAsync("""{"pause":null}""", 1, Ct));
        Assert.False(await store.TryWriteAsync("""{"stale":true}""", 1, Ct));

        await using var other = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString); // another replica
        var read = await new RedisControlStore(other, options).ReadAsync(Ct);
        Assert.Equal(new ControlDocument("""{"pause":null}""", 2), read);
        Assert.True(await connection.GetDatabase().KeyExistsAsync(options.KeyPrefix + "controls"));
    }
}
