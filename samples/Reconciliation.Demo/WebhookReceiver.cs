using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Reconciliation.Demo;

/// <summary>
/// Stands in for a CI job that rolls a deploy back: receives the http.webhook heal, checks its HMAC signature,
/// and "rolls back" (here: removes the injected latency).
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
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body.ToArray()));
            var signature = http.Request.Headers["X-Reconciliation-Signature"].ToString();
            var valid = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(signature));
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
