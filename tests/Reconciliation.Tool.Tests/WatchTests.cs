using System.Net;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.Tool.Tests;

/// <summary><c>reconcile watch</c>, installed from the packed feed, started as a process beside a real PostgreSQL and Redis.</summary>
public sealed class WatchTests(InstalledTool tool)
{
    [Fact]
    public async Task Serves_live_ready_metrics_and_the_status_page_and_heals_a_drifted_redis_policy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateTests.GateEnvironment.StartAsync(nameof(Serves_live_ready_metrics_and_the_status_page_and_heals_a_drifted_redis_policy), ct);
        var config = await GateTests.GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "watch.json", interval: "00:00:01");
        var port = FreePort.Next();

        await using var watch = ToolProcess.Start(tool.Command, environment.Variables, "watch", "--config", config, "--urls", $"http://127.0.0.1:{port}");
        try
        {
            await watch.Serving.WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            Assert.Fail($"reconcile watch did not start serving: {e.Message}{Environment.NewLine}{watch.Output}");
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        // Live from the start (a starting sidecar is not restarted), unless the loop is stuck: on a loaded machine the first tick
        // may take longer than the staleness bound (3 intervals), so this is awaited, not asserted at once.
        await Eventually.UntilAsync(async () => (await http.GetAsync("/healthz/live", ct)).StatusCode == HttpStatusCode.OK, "/healthz/live answers 200");
        // Ready once the first tick has measured (never before), with the cache's policy as declared.
        await Eventually.UntilAsync(async () => (await http.GetAsync("/healthz/ready", ct)).StatusCode == HttpStatusCode.OK, "/healthz/ready answers 200");
        using (var page = await http.GetAsync("/status", ct))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<title>Reconciliation status</title>", await page.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        var status = await http.GetStringAsync("/status/status.json", ct);
        Assert.Contains("redis.policy.drift", status, StringComparison.Ordinal);
        Assert.Contains("postgres.connections.usage", status, StringComparison.Ordinal);
        // Left out: the tool's own process and pool are not the service's.
        Assert.DoesNotContain("process.memory.working_set", status, StringComparison.Ordinal);
        Assert.DoesNotContain("postgres.pool.usage", status, StringComparison.Ordinal);

        await environment.SetRedisPolicyAsync("noeviction");
        await Eventually.UntilAsync(async () => await environment.RedisPolicyAsync() == "allkeys-lru",
            "reconcile watch set Redis's maxmemory-policy back to allkeys-lru");

        string metrics = "";
        await Eventually.UntilAsync(async () =>
        {
            using var response = await http.GetAsync("/metrics", ct);
            metrics = await response.Content.ReadAsStringAsync(ct);
            return response.StatusCode == HttpStatusCode.OK && metrics.Contains("healer=\"redis.set-policy\"", StringComparison.Ordinal);
        }, "/metrics counts the redis.set-policy heal");
        Assert.Contains("# TYPE reconciliation_", metrics, StringComparison.Ordinal);
        Assert.Contains("signal=\"redis.policy.drift\"", metrics, StringComparison.Ordinal);
        Assert.Contains("redis.set-policy", await http.GetStringAsync("/status/status.json", ct), StringComparison.Ordinal);

        // The Reconciliation section is reloaded when the file changes: a rule added to it appears without a restart.
        var text = await File.ReadAllTextAsync(config, ct);
        await File.WriteAllTextAsync(config, text.Replace("\"cache-policy\": {", "\"cache-reloaded\": { \"Signal\": \"redis.latency\", \"Above\": 10 }, \"cache-policy\": {", StringComparison.Ordinal), ct);
        await Eventually.UntilAsync(async () => (await http.GetStringAsync("/status/status.json", ct)).Contains("\"rule\":\"cache-reloaded\"", StringComparison.Ordinal),
            "the rule added to the file is on the status page");
        environment.AssertNoSecretIn(watch.Output);
        environment.AssertNoSecretIn(metrics);
        environment.AssertNoSecretIn(await http.GetStringAsync("/status/status.json", ct));
        environment.AssertNoSecretIn(await http.GetStringAsync("/healthz/ready", ct));
    }
}
