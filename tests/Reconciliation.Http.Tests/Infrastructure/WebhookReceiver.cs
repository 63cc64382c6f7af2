using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reconciliation.Http.Tests.Infrastructure;

/// <summary>A real HTTP receiver on loopback that keeps every delivery it got, answering with a status the test sets.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly KestrelApp _app;

    private WebhookReceiver(KestrelApp app) => _app = app;

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    /// <summary>Completes when the first delivery has been received (before the receiver answers it).</summary>
    public Task FirstDelivery => _firstDelivery.Task;

    private readonly TaskCompletionSource _firstDelivery = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    /// <summary>When set, the receiver does not answer until this completes (or the request is aborted).</summary>
    public TaskCompletionSource? Hold { get; set; }

    public Uri Url => _app.Url("hook");

    public Uri UrlWithQuery(string query) => new(_app.Url("hook"), "?" + query);

    public static async Task<WebhookReceiver> StartAsync()
    {
        WebhookReceiver? receiver = null;
        var app = await KestrelApp.StartAsync(null, app => app.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            string? Header(string name) => context.Request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;
            receiver!.Deliveries.Enqueue(new Delivery(
                body.ToArray(),
                Header(HttpWebhookSignature.SignatureHeader),
                context.Request.ContentType,
                context.Request.Headers.Authorization.ToString(),
                Header(HttpWebhookSignature.IdHeader),
                Header(HttpWebhookSignature.TimestampHeader)));
            receiver._firstDelivery.TrySetResult();
            if (receiver.Hold is { } hold)
            {
                await hold.Task.WaitAsync(context.RequestAborted);
            }

            return Results.StatusCode(receiver.StatusCode);
        }));
        receiver = new WebhookReceiver(app);
        return receiver;
    }

    public ValueTask DisposeAsync()
    {
        Hold?.TrySetResult();
        return _app.DisposeAsync();
    }

    internal sealed record Delivery(byte[] Body, string? Signature, string? ContentType, string Authorization, string? Id, string? Timestamp);
}
