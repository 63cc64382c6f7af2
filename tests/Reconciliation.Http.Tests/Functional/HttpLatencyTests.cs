using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Latency;
using Reconciliation.Http.Tests.Infrastructure;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>The in-process listener against a real Kestrel app: minimum requests, route groups, 5xx ratio, host isolation.</summary>
public sealed class HttpLatencyTests
{
    private static readonly TimeSpan SlowEndpointLatency = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Too_few_requests_in_the_window_give_no_reading_enough_give_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await StartAsync(o => o.MinimumRequests = 20);
        var reconciler = app.Services.GetRequiredService<IReconciler>();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var served = MeasurementSignal.ServerRequestsOf(app.Services);

        await SendAsync(client, "ok", 19, ct);
        await served.WaitForAsync(19, "19 request durations");
        var report = await reconciler.ReconcileOnceAsync(ct);
        Assert.Null(report.ValueOf(HttpSignalNames.LatencyP99, "http"));
        Assert.Null(report.ValueOf(HttpSignalNames.ErrorsRatio, "http"));

        await SendAsync(client, "ok", 1, ct);
        await served.WaitForAsync(20, "20 request durations");
        report = await reconciler.ReconcileOnceAsync(ct);
        Assert.NotNull(report.ValueOf(HttpSignalNames.LatencyP99, "http"));
        Assert.Equal(0, report.ValueOf(HttpSignalNames.ErrorsRatio, "http"));
    }

    [Fact]
    public async Task Route_groups_get_their_own_windows_and_5xx_make_the_error_ratio()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await StartAsync(o =>
        {
            o.MinimumRequests = 10;
            o.IncludeP50 = true;
            o.IncludeP95 = true;
            o.RouteGroups["api"] = ["/api"];
        });
        var reconciler = app.Services.GetRequiredService<IReconciler>();
        var listener = app.Services.GetRequiredService<HttpLatencyListener>();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var served = MeasurementSignal.ServerRequestsOf(app.Services);

        // api: 30 slow successes and 10 server errors; everything else (the default group): 20 fast, 20 client errors (4xx are not errors of the app).
        await SendAsync(client, "api/slow", 30, ct);
        await SendAsync(client, "api/fail", 10, ct);
        await SendAsync(client, "ok", 20, ct);
        await SendAsync(client, "missing", 20, ct);
        await served.WaitForAsync(80, "80 request durations");

        var report = await reconciler.ReconcileOnceAsync(ct);
        Assert.Equal(0.25, report.ValueOf(HttpSignalNames.ErrorsRatio, "api"));
        Assert.Equal(0, report.ValueOf(HttpSignalNames.ErrorsRatio, "http"));
        Assert.InRange(report.ValueOf(HttpSignalNames.LatencyP99, "api")!.Value, 0.05 * 0.996, 5);
        Assert.InRange(report.ValueOf(HttpSignalNames.LatencyP95, "api")!.Value, 0.05 * 0.996, 5);
        Assert.True(report.ValueOf(HttpSignalNames.LatencyP50, "http") < 0.05);
        Assert.Equal(40, listener.WindowOf("api").Requests);
        Assert.Equal(40, listener.WindowOf("http").Requests);
    }

    [Fact]
    public async Task Time_leaves_the_window_on_the_injected_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider();
        await using var app = await StartAsync(o => { o.MinimumRequests = 5; o.Window = TimeSpan.FromMinutes(1); }, fake);
        var reconciler = app.Services.GetRequiredService<IReconciler>();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var served = MeasurementSignal.ServerRequestsOf(app.Services);

        await SendAsync(client, "ok", 5, ct);
        await served.WaitForAsync(5, "5 request durations");
        Assert.NotNull((await reconciler.ReconcileOnceAsync(ct)).ValueOf(HttpSignalNames.LatencyP99, "http"));

        fake.Advance(TimeSpan.FromMinutes(1));
        Assert.Null((await reconciler.ReconcileOnceAsync(ct)).ValueOf(HttpSignalNames.LatencyP99, "http"));

        // Requests after the move are stamped with the new time (the listener's clock follows the injected one), so they
        // count in the window again instead of in the slice the first ones left.
        await SendAsync(client, "ok", 5, ct);
        await served.WaitForAsync(10, "10 request durations");
        Assert.NotNull((await reconciler.ReconcileOnceAsync(ct)).ValueOf(HttpSignalNames.LatencyP99, "http"));
    }

    internal static Task<KestrelApp> StartAsync(Action<HttpLatencyOptions> configure, FakeTimeProvider? fake = null) =>
        KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(fake ?? new FakeTimeProvider());
                builder.Services.AddStateReconciliation(o => o.Enabled = false).AddHttpLatency(configure);
            },
            app =>
            {
                app.MapGet("/ok", () => "ok");
                // The injected fault the window measures: this endpoint's own latency, timed by ASP.NET Core.
                app.MapGet("/api/slow", async (CancellationToken cancel) =>
                {
                    await Task.Delay(SlowEndpointLatency, cancel);
                    return "slow";
                });
                app.MapGet("/api/fail", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
            });

    internal static async Task SendAsync(HttpClient client, string path, int count, CancellationToken ct) =>
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (_, cancel) =>
            (await client.GetAsync(path, cancel)).Dispose());
}
