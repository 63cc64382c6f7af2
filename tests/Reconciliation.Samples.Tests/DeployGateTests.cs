using Reconciliation.Sample.DeployGate;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Samples.Tests;

public sealed class DeployGateTests
{
    [Fact]
    public async Task Passes_on_a_healthy_environment_and_fails_with_the_reason_when_the_cache_policy_drifted()
    {
        var ct = TestContext.Current.CancellationToken;
        var postgres = await RequireServer.PostgresAsync();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = "gate-secret-pw", MaxMemoryPolicy = "allkeys-lru", MaxMemoryBytes = 16 * 1024 * 1024 });
        var database = await postgres.CreateDatabaseAsync(nameof(DeployGateTests), ct);
        string[] args = ["--postgres", database, "--redis", redis.ConnectionString, "--ticks", "1"];

        var healthy = new StringWriter();
        Assert.Equal(0, await DeployGate.RunAsync(args, healthy, ct));
        Assert.Contains("PASS", healthy.ToString(), StringComparison.Ordinal);

        await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            await admin.GetServer("127.0.0.1", redis.Port).ConfigSetAsync("maxmemory-policy", "noeviction");
        }

        var drifted = new StringWriter();
        Assert.Equal(1, await DeployGate.RunAsync(args, drifted, ct));
        var output = drifted.ToString();
        Assert.Contains("rule cache-policy on cache: redis.policy.drift = 1", output, StringComparison.Ordinal);
        Assert.DoesNotContain(redis.Password!, output, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Password, output, StringComparison.Ordinal);
    }
}
