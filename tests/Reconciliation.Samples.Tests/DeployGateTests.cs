using Reconciliation.Tests;
using Reconciliation.TestServers;
using Reconciliation.Tool;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Samples.Tests;

/// <summary>
/// The sample deploy gate (samples/deploy-gate: its reconcile.json, run by <c>reconcile gate</c> in deploy.sh) against a real
/// PostgreSQL and Redis. The command runs in this process here; Reconciliation.Tool.Tests runs the installed tool.
/// </summary>
public sealed class DeployGateTests
{
    [Fact]
    public async Task Passes_on_a_healthy_environment_and_fails_with_the_reason_when_the_cache_policy_drifted()
    {
        var ct = TestContext.Current.CancellationToken;
        var postgres = await RequireServer.PostgresAsync();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = "gate-secret-pw", MaxMemoryPolicy = "allkeys-lru", MaxMemoryBytes = 16 * 1024 * 1024 });
        var database = await postgres.CreateDatabaseAsync(nameof(DeployGateTests), ct);
        // deploy.sh gets these from the CI system's secrets; the gate reads them because reconcile.json says "env:POSTGRES".
        Environment.SetEnvironmentVariable("POSTGRES", database);
        Environment.SetEnvironmentVariable("REDIS", redis.ConnectionString);
        try
        {
            string[] args = ["gate", "--config", Path.Combine(AppContext.BaseDirectory, "deploy-gate", "reconcile.json"), "--wait", "0s"];

            var healthy = new StringWriter();
            var healthyLog = new StringWriter();
            Assert.True(await ToolProgram.RunAsync(args, healthy, healthyLog, ct) == 0, healthy.ToString() + healthyLog);
            Assert.Contains("PASS", healthy.ToString(), StringComparison.Ordinal);

            await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
            {
                await admin.GetServer("127.0.0.1", redis.Port).ConfigSetAsync("maxmemory-policy", "noeviction");
            }

            var drifted = new StringWriter();
            var driftedLog = new StringWriter();
            Assert.Equal(1, await ToolProgram.RunAsync(args, drifted, driftedLog, ct));
            var output = drifted.ToString() + driftedLog;
            Assert.Matches(@"(?m)^violation\s+cache-policy\s+cache\s+redis\.policy\.drift\s+1\s+above 0\s+Open\s+Degraded", drifted.ToString());
            Assert.DoesNotContain(redis.Password!, output, StringComparison.Ordinal);
            Assert.DoesNotContain(postgres.Password, output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POSTGRES", null);
            Environment.SetEnvironmentVariable("REDIS", null);
        }
    }
}
