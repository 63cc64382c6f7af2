using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Reconciliation.Http;

namespace Reconciliation.Demo;

/// <summary>
/// Stands in for a CI job that rolls a deploy back: receives the http.webhook heal, checks its Standard Webhooks
/// signature with the package's receiver helper, and "rolls back" (here: removes the injected latency).
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public Func<Task>? OnRollback { get; set; }

    public static async Task<WebhookReceiver> StartAsync(string secret, Narrator narrator, CancellationToken cancel)
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? self = null;
        app.MapPost("/rollback", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var headers = http.Request.Headers;
            var valid = HttpWebhookSignature.Verify([secret], headers[HttpWebhookSignature.IdHeader], headers[HttpWebhookSignature.TimestampHeader],
                headers[HttpWebhookSignature.SignatureHeader], body.ToArray(), TimeProvider.System) == HttpWebhookVerification.Valid;
            narrator.Say("WEBHOOK", valid ? "signed rollback request received: rolling the slow release back" : "webhook with an INVALID signature rejected");
            if (!valid)
            {
                return Results.Unauthorized();
            }

            if (self?.OnRollback is { } rollback)
            {
                await rollback();
            }

            return Results.Ok();
        });
        await app.StartAsync(cancel);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new WebhookReceiver(app, address.TrimEnd('/') + "/rollback");
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
