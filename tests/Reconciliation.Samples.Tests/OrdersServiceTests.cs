using System.Net;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.Samples.Tests;

/// <summary>The orders sample's operational endpoints, on real servers with a real fault.</summary>
[Collection(OrdersServiceInstances.Name)]
public sealed class OrdersServiceTests
{
    [Fact]
    public async Task Readiness_is_503_while_the_pool_is_saturated_and_200_again_after_the_heal_and_metrics_are_exported()
    {
        var ct = TestContext.Current.CancellationToken;
        var postgres = await RequireServer.PostgresAsync();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryBytes = 32 * 1024 * 1024, MaxMemoryPolicy = "allkeys-lru" });
        await using var service = await OrdersService.StartAsync(postgres, redis, nameof(OrdersServiceTests), null, ct, maxPoolSize: 4);
        await service.WaitForStatusAsync(s => s.GetProperty("tick").GetInt64() > 1, TimeSpan.FromSeconds(30), ct);
        await WaitForReadinessAsync(service, HttpStatusCode.OK, ct);

        // A handler bug: every pooled connection held inside a transaction that never ends.
        using (var hold = await service.Http.PostAsync("demo/faults/hold-connections/4", null, ct))
        {
            hold.EnsureSuccessStatusCode();
        }

        await WaitForReadinessAsync(service, HttpStatusCode.ServiceUnavailable, ct);
        var saturated = await service.StatusAsync(ct);
        Assert.True(OrdersService.HasOpenViolation(saturated, "pool-saturation"));

        // The idle-in-transaction healer terminates the held sessions; the pool drains and readiness comes back.
        await WaitForReadinessAsync(service, HttpStatusCode.OK, ct);
        using var held = await service.Http.GetAsync("demo/faults/held", ct);
        Assert.Contains("\"held\":0", await held.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        var metrics = await service.Http.GetStringAsync("metrics", ct);
        Assert.Contains("reconciliation_signal_value", metrics, StringComparison.Ordinal);
        Assert.Contains("postgres.pool.usage", metrics, StringComparison.Ordinal);
        Assert.Contains("reconciliation_heals", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Password, metrics, StringComparison.Ordinal);
    }

    private static async Task WaitForReadinessAsync(OrdersService service, HttpStatusCode expected, CancellationToken ct)
    {
        var last = HttpStatusCode.OK;
        var reached = await Eventually.HoldsAsync(async () =>
        {
            using var response = await service.Http.GetAsync("healthz/ready", ct);
            return (last = response.StatusCode) == expected;
        }, TimeSpan.FromSeconds(60));
        Assert.True(reached, $"/healthz/ready stayed {last}, expected {expected} within 60 s");
    }
}
