using Reconciliation.Tests;
using Reconciliation.TestServers;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Samples.Tests;

/// <summary>The sample's status page, opened in a real headless Chromium, shows an injected violation and drops it after the heal.</summary>
[Collection(OrdersServiceInstances.Name)]
public sealed class StatusPageTests
{
    private const string HoldHeals = "Reconciliation:Healers:redis.set-policy:DryRun";

    [Fact]
    public async Task An_injected_violation_appears_on_the_status_page_and_disappears_after_the_heal()
    {
        var ct = TestContext.Current.CancellationToken;
        var chromium = HeadlessChromium.Require();
        var postgres = await RequireServer.PostgresAsync();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryBytes = 32 * 1024 * 1024, MaxMemoryPolicy = "allkeys-lru" });
        // The heal is held back (dry-run) until the browser has seen the violation, then released by a live reload.
        await using var service = await OrdersService.StartAsync(postgres, redis, nameof(StatusPageTests), new Dictionary<string, string?> { [HoldHeals] = "true" }, ct);
        await service.WaitForStatusAsync(s => s.GetProperty("tick").GetInt64() > 0, TimeSpan.FromSeconds(30), ct);
        var page = new Uri(service.BaseAddress, "reconciliation");

        var healthy = await HeadlessChromium.DumpDomAsync(chromium, page, ct);
        Assert.Contains("data-signal=\"redis.policy.drift\"", healthy, StringComparison.Ordinal);
        Assert.DoesNotContain("data-rule=\"redis-policy\"", healthy, StringComparison.Ordinal);

        await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            await admin.GetServer("127.0.0.1", redis.Port).ConfigSetAsync("maxmemory-policy", "noeviction");
        }

        await service.WaitForStatusAsync(s => OrdersService.HasOpenViolation(s, "redis-policy"), TimeSpan.FromSeconds(30), ct);
        var broken = await HeadlessChromium.DumpDomAsync(chromium, page, ct);
        Assert.Contains("data-rule=\"redis-policy\"", broken, StringComparison.Ordinal);

        service.Configuration[HoldHeals] = "false";
        service.Configuration.Reload();
        await service.WaitForStatusAsync(s => !OrdersService.HasOpenViolation(s, "redis-policy"), TimeSpan.FromSeconds(30), ct);
        var healed = await HeadlessChromium.DumpDomAsync(chromium, page, ct);
        Assert.DoesNotContain("data-rule=\"redis-policy\"", healed, StringComparison.Ordinal);
        Assert.Contains("redis.set-policy", healed, StringComparison.Ordinal); // the heal is in the page's history
    }
}
