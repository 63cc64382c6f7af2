using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Quantiles;
using Reconciliation.Http.Tests.Infrastructure;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>The synthetic probe against real sockets; the endpoint moves the fake clock, so the latency it reports is exact.</summary>
public sealed class HttpEndpointProbeTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_refused_connection_reports_probe_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider();
        var down = new Uri($"http://127.0.0.1:{Ports.Free()}/health");
        await using var provider = Engine(fake, b => b.AddHttpEndpoint("down", down));
        var reconciler = provider.GetRequiredService<IReconciler>();

        var report = await reconciler.ReconcileOnceAsync(ct);

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "down"));
        var failure = Assert.Single(report.ProbeFailures);
        Assert.Equal("down", failure.Resource);
        Assert.Contains("HttpRequestException", failure.Reason, StringComparison.Ordinal);
        Assert.Null(report.ValueOf(HttpSignalNames.LatencyP99, "down"));
        Assert.Equal(1, Probe(provider).Window.Failures);
    }

    [Fact]
    public async Task Latencies_of_the_calls_make_the_p99_once_the_window_holds_enough_calls()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider();
        var calls = 0;
        await using var app = await KestrelApp.StartAsync(null, a => a.MapGet("/health", () =>
        {
            // Calls 1..9 take 10 ms on the fake clock, the 10th 300 ms: p99 of ten is the slowest, p50 the fast ones.
            var call = Interlocked.Increment(ref calls);
            fake.Advance(TimeSpan.FromMilliseconds(call == 10 ? 300 : 10));
            return "ok";
        }));
        await using var provider = Engine(fake, b => b.AddHttpEndpoint("api", app.Url("health"), o =>
        {
            o.MinimumRequests = 10;
            o.IncludeP50 = true;
        }));
        var reconciler = provider.GetRequiredService<IReconciler>();

        for (var tick = 1; tick <= 9; tick++)
        {
            var report = await reconciler.ReconcileOnceAsync(ct);
            Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "api"));
            Assert.Null(report.ValueOf(HttpSignalNames.LatencyP99, "api"));
            fake.Advance(Interval);
        }

        var tenth = await reconciler.ReconcileOnceAsync(ct);
        AssertClose(0.300, tenth.ValueOf(HttpSignalNames.LatencyP99, "api"));
        AssertClose(0.010, tenth.ValueOf(HttpSignalNames.LatencyP50, "api"));
        Assert.Equal(0, tenth.ValueOf(HttpSignalNames.ErrorsRatio, "api"));
        Assert.Equal(10, calls);
    }

    [Fact]
    public async Task An_unexpected_status_is_an_error_of_a_reachable_endpoint_not_a_probe_failure()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider();
        var status = StatusCodes.Status503ServiceUnavailable;
        await using var app = await KestrelApp.StartAsync(null, a => a.MapGet("/health", () => Results.StatusCode(Volatile.Read(ref status))));
        await using var provider = Engine(fake, b => b
            .AddHttpEndpoint("flaky", app.Url("health"), o => o.MinimumRequests = 4)
            .AddHttpEndpoint("teapot", app.Url("health"), o =>
            {
                o.MinimumRequests = 4;
                o.ExpectedStatusCodes.Add(StatusCodes.Status503ServiceUnavailable);
            }));
        var reconciler = provider.GetRequiredService<IReconciler>();

        ReconciliationReport report = null!;
        for (var tick = 0; tick < 4; tick++)
        {
            if (tick == 3)
            {
                Volatile.Write(ref status, StatusCodes.Status200OK);
            }

            report = await reconciler.ReconcileOnceAsync(ct);
            fake.Advance(Interval);
        }

        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "flaky"));
        Assert.Equal(0.75, report.ValueOf(HttpSignalNames.ErrorsRatio, "flaky"));
        Assert.Equal(0.25, report.ValueOf(HttpSignalNames.ErrorsRatio, "teapot"));
    }

    [Fact]
    public async Task A_call_past_the_timeout_is_a_failure_and_reports_probe_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(null, a => a.MapGet("/health", async () =>
        {
            arrived.TrySetResult();
            await release.Task;
            return "late";
        }));
        await using var provider = Engine(fake, b => b.AddHttpEndpoint("hangs", app.Url("health"), o => o.Timeout = TimeSpan.FromSeconds(2)));
        var reconciler = provider.GetRequiredService<IReconciler>();

        var tick = reconciler.ReconcileOnceAsync(ct);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(15), ct);
        fake.Advance(TimeSpan.FromSeconds(2)); // the probe's own timeout, under the engine's 5-second probe timeout
        var report = await tick.WaitAsync(TimeSpan.FromSeconds(15), ct);
        release.TrySetResult();

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "hangs"));
        Assert.Contains("did not answer within 00:00:02", Assert.Single(report.ProbeFailures).Reason, StringComparison.Ordinal);
        var window = Probe(provider).Window;
        Assert.Equal(1, window.Failures);
        AssertClose(2.0, window.GetQuantile(1));
    }

    [Fact]
    public async Task The_hosts_IHttpClientFactory_client_is_used_when_registered()
    {
        var ct = TestContext.Current.CancellationToken;
        string? seen = null;
        await using var app = await KestrelApp.StartAsync(null, a => a.MapGet("/health", (HttpRequest request) =>
        {
            seen = request.Headers["X-Client"].ToString();
            return "ok";
        }));
        await using var withFactory = Engine(new FakeTimeProvider(), b =>
        {
            b.Services.AddHttpClient("Reconciliation.Http", c => c.DefaultRequestHeaders.Add("X-Client", "factory"));
            b.AddHttpEndpoint("api", app.Url("health"));
        });
        await using var withoutFactory = Engine(new FakeTimeProvider(), b => b.AddHttpEndpoint("api", app.Url("health")));

        await withFactory.GetRequiredService<IReconciler>().ReconcileOnceAsync(ct);
        Assert.Equal("factory", seen);
        Assert.True(Probe(withFactory).UsesHttpClientFactory);

        await withoutFactory.GetRequiredService<IReconciler>().ReconcileOnceAsync(ct);
        Assert.Equal(string.Empty, seen);
        Assert.False(Probe(withoutFactory).UsesHttpClientFactory);
    }

    private static ServiceProvider Engine(FakeTimeProvider fake, Action<IReconciliationBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(fake);
        configure(services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero));
        return services.BuildServiceProvider(validateScopes: true);
    }

    private static Endpoints.HttpEndpointProbe Probe(IServiceProvider provider) =>
        provider.GetServices<IProbe>().OfType<Endpoints.HttpEndpointProbe>().Single();

    private static void AssertClose(double expected, double? actual)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(actual.Value - expected) / expected <= LatencyHistogram.RelativeError, $"expected {expected} ± {LatencyHistogram.RelativeError:P2}, got {actual}");
    }
}
