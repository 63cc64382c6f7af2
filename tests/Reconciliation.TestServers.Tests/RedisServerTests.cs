using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.TestServers.Tests;

public sealed class RedisServerTests
{
    [Fact]
    public async Task Set_and_get_through_StackExchange_Redis_on_a_real_server()
    {
        var server = await RequireServer.RedisAsync();
        var prefix = server.KeyPrefix(nameof(RedisServerTests));
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var db = connection.GetDatabase();

        Assert.True(await db.StringSetAsync(prefix + "greeting", "hello"));
        Assert.Equal("hello", (string?)await db.StringGetAsync(prefix + "greeting"));
    }

    [Fact]
    public async Task Key_prefixes_are_unique_per_scope()
    {
        var server = await RequireServer.RedisAsync();
        Assert.NotEqual(server.KeyPrefix("a"), server.KeyPrefix("a"));
    }

    [Fact]
    public async Task A_dedicated_server_with_a_password_refuses_anonymous_commands()
    {
        await using var server = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = "s3cret-for-test" });
        var anonymous = ConfigurationOptions.Parse($"127.0.0.1:{server.Port},abortConnect=false,connectTimeout=1000");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(anonymous);

        await Assert.ThrowsAnyAsync<RedisException>(() => connection.GetDatabase().PingAsync());
    }

    [Fact]
    public async Task A_dedicated_server_stops_and_starts_again_on_the_same_port()
    {
        await using var server = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryPolicy = "allkeys-lru" });
        var ct = TestContext.Current.CancellationToken;

        await server.StopAsync(ct);
        Assert.False(server.IsRunning);
        await using (var down = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            Assert.False(down.IsConnected);
        }

        await server.StartAgainAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration(allowAdmin: true));
        var policy = await connection.GetServer("127.0.0.1", server.Port).ConfigGetAsync("maxmemory-policy");
        Assert.Equal("allkeys-lru", policy.Single().Value);
    }
}
