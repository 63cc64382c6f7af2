using Microsoft.AspNetCore.Hosting;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Reconciliation.AspNetCore.Tests.TestSupport;

/// <summary>
/// A real app on Kestrel, loopback, a free port: the header authentication scheme, a policy <see cref="Operators"/>
/// (role <see cref="OperatorRole"/>) and one (<see cref="Viewers"/>, any signed-in user), a fake clock, and
/// <c>MapReconciliation("/reconciliation")</c>. The background loop is removed: ticks come only from <c>POST /tick</c>,
/// so a test knows exactly which tick did what.
/// </summary>
internal sealed class KestrelApp : IAsyncDisposable
{
    public const string Operators = "operators";
    public const string Viewers = "viewers";
    public const string OperatorRole = "operator";
    public const string Prefix = "reconciliation";

    private KestrelApp(WebApplication app, Uri baseAddress, FakeTimeProvider time)
    {
        App = app;
        BaseAddress = baseAddress;
        Time = time;
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => App.Services;

    public static async Task<KestrelApp> StartAsync(
        Action<IReconciliationBuilder> reconcile,
        Action<ReconciliationEndpointOptions>? endpoints = null,
        Action<ReconciliationOptions>? options = null,
        Action<WebApplicationBuilder>? configure = null,
        Action<WebApplication>? map = null,
        string? browserUser = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
            .AddScheme<HeaderAuthenticationHandler.HeaderOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, o =>
            {
                o.DefaultUser = browserUser;
                o.DefaultRoles = OperatorRole;
            });
        builder.Services.AddAuthorization(a =>
        {
            a.AddPolicy(Operators, p => p.RequireAuthenticatedUser().RequireRole(OperatorRole));
            a.AddPolicy(Viewers, p => p.RequireAuthenticatedUser());
        });
        reconcile(builder.Services.AddStateReconciliation(o =>
        {
            o.Interval = TimeSpan.FromSeconds(10);
            o.WarmUp = TimeSpan.Zero;
            options?.Invoke(o);
        }));
        // Ticks only on request (POST /tick): the loop's own first tick would race with the test's.
        var loop = builder.Services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "ReconciliationLoop");
        builder.Services.Remove(loop);
        configure?.Invoke(builder);

        var app = builder.Build();
        if (map is not null)
        {
            map(app);
        }
        else
        {
            app.MapReconciliation("/" + Prefix, o =>
            {
                o.MutationPolicy = Operators;
                endpoints?.Invoke(o);
            });
        }

        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KestrelApp(app, new Uri(address.TrimEnd('/') + "/" + Prefix + "/"), time);
    }

    /// <summary>A client for <paramref name="user"/> (anonymous when null) with <paramref name="roles"/>, addressing the endpoints relative to the prefix.</summary>
    public HttpClient Client(string? user = null, string? roles = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Add(HeaderAuthenticationHandler.UserHeader, user);
        }

        if (roles is not null)
        {
            client.DefaultRequestHeaders.Add(HeaderAuthenticationHandler.RolesHeader, roles);
        }

        return client;
    }

    public HttpClient Operator(string name = "alice") => Client(name, OperatorRole);

    public static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

    /// <summary>Runs one tick through <c>POST tick</c> and returns its report.</summary>
    public static async Task<JsonElement> TickAsync(HttpClient client)
    {
        using var response = await PostJsonAsync(client, "tick", "{}");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    public static async Task<JsonElement> StatusAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>("status.json", TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
