using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reconciliation.Sample.Orders;
using Reconciliation.TestServers;

namespace Reconciliation.Samples.Tests;

/// <summary>The orders sample running in-process on a free loopback port, on real servers.</summary>
internal sealed class OrdersService : IAsyncDisposable
{
    private OrdersService(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public IConfigurationRoot Configuration => (IConfigurationRoot)App.Configuration;

    public static async Task<OrdersService> StartAsync(PostgresServer postgres, RedisServer redis, string scope, IDictionary<string, string?>? settings, CancellationToken ct, int? maxPoolSize = null)
    {
        var database = await postgres.CreateDatabaseAsync(scope, ct);
        if (maxPoolSize is int size)
        {
            database = new Npgsql.NpgsqlConnectionStringBuilder(database) { MaxPoolSize = size }.ConnectionString;
        }

        var app = OrdersApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            var values = new Dictionary<string, string?>
            {
                ["ConnectionStrings:Orders"] = database,
                ["ConnectionStrings:Redis"] = redis.ConnectionString,
                ["Reconciliation:WarmUp"] = "00:00:01",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                values[key] = value;
            }

            builder.Configuration.AddInMemoryCollection(values);
            builder.Logging.ClearProviders();
        });
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OrdersService(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async Task<JsonElement> StatusAsync(CancellationToken ct) =>
        await Http.GetFromJsonAsync<JsonElement>("reconciliation/status.json", ct);

    /// <summary>Polls the status JSON until <paramref name="condition"/> holds (bounded: a real service on real servers).</summary>
    public async Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> condition, TimeSpan timeout, CancellationToken ct)
    {
        JsonElement status = default;
        var reached = await Reconciliation.Tests.Eventually.HoldsAsync(async () => condition(status = await StatusAsync(ct)), timeout);
        return reached ? status : throw new TimeoutException($"The status did not reach the expected state within {timeout}. Last: {status}");
    }

    public static bool HasOpenViolation(JsonElement status, string rule) =>
        status.GetProperty("violations").EnumerateArray().Any(v => v.GetProperty("rule").GetString() == rule && v.GetProperty("state").GetString() != "Closed");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
