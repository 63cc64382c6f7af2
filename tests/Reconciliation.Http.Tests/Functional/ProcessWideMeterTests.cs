using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Http.Latency;
using Reconciliation.Http.Tests.Infrastructure;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>Meters that every server or client in the process reports to: these tests run alone so other tests' traffic cannot blur the counts.</summary>
[CollectionDefinition(nameof(ProcessWideMeterTests), DisableParallelization = true)]
public sealed class ProcessWideMeters;

[Collection(nameof(ProcessWideMeterTests))]
public sealed class ProcessWideMeterTests
{
    [Fact]
    public async Task Requests_to_another_server_in_the_same_process_are_not_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await HttpLatencyTests.StartAsync(o => o.MinimumRequests = 1);
        await using var everyServer = await HttpLatencyTests.StartAsync(o => o.OnlyThisHost = false);
        await using var other = await KestrelApp.StartAsync(null, a => a.MapGet("/ok", () => "other"));
        var window = app.Services.GetRequiredService<HttpLatencyListener>().WindowOf("http");
        var control = everyServer.Services.GetRequiredService<HttpLatencyListener>().WindowOf("http");
        using var client = new HttpClient();
        using var served = MeasurementSignal.ServerRequestsAnywhere();

        for (var i = 0; i < 10; i++)
        {
            (await client.GetAsync(other.Url("ok"), ct)).Dispose();
        }

        (await client.GetAsync(app.Url("ok"), ct)).Dispose();

        // Once the process has recorded all 11, every listener (registered before this signal) has been called for them.
        await served.WaitForAsync(11, "11 request durations in the process");
        Assert.Equal(11, control.Count);
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public async Task Outgoing_calls_are_a_resource_of_their_own_with_5xx_and_refused_connections_as_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await KestrelApp.StartAsync(
            builder => builder.Services.AddStateReconciliation(o => o.Enabled = false)
                .AddHttpLatency(o =>
                {
                    o.MinimumRequests = 10;
                    o.IncludeOutgoing = true;
                }),
            a => a.MapGet("/ok", () => "ok"));
        await using var target = await KestrelApp.StartAsync(null, a =>
        {
            a.MapGet("/ok", () => "ok");
            a.MapGet("/fail", () => Results.StatusCode(StatusCodes.Status502BadGateway));
        });
        var reconciler = app.Services.GetRequiredService<IReconciler>();
        var outgoing = app.Services.GetRequiredService<HttpLatencyListener>().WindowOf(HttpLatencyOptions.DefaultOutgoingResource);
        using var client = new HttpClient();
        using var calls = MeasurementSignal.ClientRequests();

        for (var i = 0; i < 7; i++)
        {
            using var response = await client.GetAsync(target.Url("ok"), ct);
        }

        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync(target.Url("fail"), ct);
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://127.0.0.1:{Ports.Free()}/", ct));
        await calls.WaitForAsync(10, "10 outgoing call durations");

        var report = await reconciler.ReconcileOnceAsync(ct);
        Assert.Equal(10, outgoing.Requests);
        Assert.Equal(0.3, report.ValueOf(HttpSignalNames.ErrorsRatio, HttpLatencyOptions.DefaultOutgoingResource)!.Value, 10);
        Assert.NotNull(report.ValueOf(HttpSignalNames.LatencyP99, HttpLatencyOptions.DefaultOutgoingResource));

        // The test's own calls to the target were outgoing, not served by this app.
        Assert.Equal(0, app.Services.GetRequiredService<HttpLatencyListener>().WindowOf("http").Requests);
    }
}
