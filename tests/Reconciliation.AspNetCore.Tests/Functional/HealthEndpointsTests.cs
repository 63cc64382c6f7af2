using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.AspNetCore.Tests.TestSupport;

namespace Reconciliation.AspNetCore.Tests.Functional;

/// <summary>Liveness and readiness in one call each, on a real Kestrel app and the real engine.</summary>
public sealed class HealthEndpointsTests
{
    [Fact]
    public async Task Live_counts_rules_tagged_live_and_ready_rules_tagged_ready_with_503_for_a_degraded_readiness_rule()
    {
        var pool = new SettableProbe("db", "pool.usage") { Value = 0.5 };
        var memory = new SettableProbe("app", "memory.usage") { Value = 0.5 };
        await using var app = await KestrelApp.StartAsync(
            b => b.AddProbe(_ => pool).AddProbe(_ => memory)
                .AddRule("pool-saturation", r => { r.Signal = "pool.usage"; r.Above = 0.9; r.Severity = RuleSeverity.Degraded; r.Tags.Add("ready"); })
                .AddRule("memory-leak", r => { r.Signal = "memory.usage"; r.Above = 0.9; r.Severity = RuleSeverity.Unhealthy; r.Tags.Add("live"); }),
            configure: builder => builder.Services.AddHealthChecks().AddReconciliationLiveAndReady(),
            map: app =>
            {
                app.MapReconciliationHealthChecks();
                app.MapReconciliation("/reconciliation", o => o.MutationPolicy = KestrelApp.Operators);
            });
        var root = new Uri(app.BaseAddress, "/");
        using var probe = new HttpClient { BaseAddress = root };
        using var alice = app.Operator();
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("healthz/live", ct)).StatusCode); // healthy before the first tick

        pool.Value = 0.95;
        await KestrelApp.TickAsync(alice);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probe.GetAsync("healthz/ready", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("healthz/live", ct)).StatusCode); // a readiness rule never restarts the app

        memory.Value = 0.95;
        pool.Value = 0.5;
        app.Time.Advance(TimeSpan.FromSeconds(10));
        await KestrelApp.TickAsync(alice);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probe.GetAsync("healthz/live", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("healthz/ready", ct)).StatusCode);
    }

    [Fact]
    public async Task Mapping_the_health_endpoints_without_the_checks_fails_at_start_and_says_which_call_is_missing()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage")),
            configure: builder => builder.Services.AddHealthChecks().AddReconciliation(),
            map: app => app.MapReconciliationHealthChecks()));

        Assert.Contains("AddReconciliationLiveAndReady", error.Message, StringComparison.Ordinal);
    }
}
