using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reconciliation.Http.Tests.Infrastructure;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>The operator-facing event webhook against a real receiver on loopback, driven by the real control API.</summary>
public sealed class HttpEventWebhookTests
{
    private const string Secret = "event-hook-secret-that-must-never-be-logged";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_operator_pause_is_posted_signed_with_its_reason_and_the_replica()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var host = Host(o =>
        {
            o.Url = receiver.Url;
            o.Secret = Secret;
        });
        await host.StartAsync(Ct);
        var control = host.Services.GetRequiredService<IReconciliationControl>();

        await control.PauseAsync("alice", "incident 42", cancellationToken: Ct);
        await Eventually.UntilAsync(() => Task.FromResult(!receiver.Deliveries.IsEmpty), "the pause is delivered", TimeSpan.FromSeconds(60));

        var delivery = Assert.Single(receiver.Deliveries);
        Assert.StartsWith("evt_", delivery.Id, StringComparison.Ordinal);
        Assert.Equal(HttpWebhookVerification.Valid, HttpWebhookSignature.Verify([Secret], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, TimeProvider.System));
        using var json = JsonDocument.Parse(delivery.Body);
        Assert.Equal("OperatorPause", json.RootElement.GetProperty("kind").GetString());
        Assert.Equal("healing paused by alice: incident 42", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal("replica-a", json.RootElement.GetProperty("replica").GetString());
        Assert.Equal(delivery.Id, json.RootElement.GetProperty("id").GetString());
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_delivery_the_receiver_refuses_is_tried_again_with_the_same_id_up_to_MaxAttempts()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = StatusCodes.Status503ServiceUnavailable;
        using var host = Host(o =>
        {
            o.Url = receiver.Url;
            o.MaxAttempts = 2;
            o.Kinds.Add(ReconciliationEventKind.OperatorPause);
        });
        await host.StartAsync(Ct);

        await host.Services.GetRequiredService<IReconciliationControl>().PauseAsync("bob", "deploy", cancellationToken: Ct);
        await Eventually.UntilAsync(() => Task.FromResult(receiver.Deliveries.Count >= 2), "two attempts", TimeSpan.FromSeconds(60));

        Assert.Equal(2, receiver.Deliveries.Count);
        Assert.Single(receiver.Deliveries.Select(d => d.Id).Distinct());
        await host.StopAsync(Ct);
    }

    private static IHost Host(Action<HttpEventWebhookOptions> configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddStateReconciliation(o =>
        {
            o.ReplicaId = "replica-a";
            o.Enabled = false; // no loop needed: the events come from the control API
        }).AddHttpEventWebhook(configure);
        return builder.Build();
    }
}
