using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Npgsql;
using Reconciliation.Queue;
using Reconciliation.Sample.Orders;
using Reconciliation.TestServers;
using StackExchange.Redis;

namespace Reconciliation.Demo;

/// <summary>Starts the servers, the orders service, a load generator and a webhook receiver, then injects faults one by one.</summary>
internal static class DemoRun
{
    private const int PoolSize = 10;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancel)
    {
        var narrator = new Narrator();
        narrator.Say("SETUP", "starting a throwaway PostgreSQL and Redis on 127.0.0.1 (removed when the demo ends)");
        await using var postgres = await PostgresServer.StartAsync(cancel);
        await using var redis = await RedisServer.StartAsync(new RedisServerOptions { MaxMemoryBytes = 64 * 1024 * 1024, MaxMemoryPolicy = "allkeys-lru" }, cancel);
        var database = await postgres.CreateDatabaseAsync("orders", cancel);
        var ordersConnection = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = PoolSize, Timeout = 3 }.ConnectionString;
        narrator.Say("SETUP", $"PostgreSQL on port {postgres.Port}, Redis on port {redis.Port}");

        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using var receiver = await WebhookReceiver.StartAsync(secret, narrator, cancel);

        await using var orders = OrdersApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Orders"] = ordersConnection,
                ["ConnectionStrings:Redis"] = redis.ConnectionString,
                ["Webhook:Url"] = receiver.Url,
                ["Webhook:Secret"] = secret,
                ["Logging:LogLevel:Default"] = "None", // the narrator tells the story; the logs would flood it
            });
            builder.Logging.ClearProviders();
        });
        var events = orders.Services.GetRequiredService<ReconciliationEvents>().Subscribe();
        await orders.StartAsync(cancel);
        var baseAddress = new Uri(orders.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        receiver.OnRollback = () => SetLatencyAsync(baseAddress, 0);
        narrator.Say("SETUP", $"orders service on {baseAddress} — status page: {baseAddress}status  metrics: {baseAddress}metrics");

        var records = new List<FaultRecord>();
        FaultRecord? current = null;
        var watcher = Task.Run(() => WatchAsync(events, narrator, () => current), CancellationToken.None);

        using var load = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var generator = Task.Run(() => LoadGenerator.RunAsync(baseAddress, load.Token), CancellationToken.None);
        narrator.Say("SETUP", "load generator running (orders created and read continuously); warming up");
        var leaked = new List<NpgsqlConnection>();
        var adminRedis = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));

        Scenario[] scenarios =
        [
            new("leak 3 idle-in-transaction sessions", "idle-transactions",
                async ct =>
                {
                    for (var i = 0; i < 3; i++)
                    {
                        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = OrdersApp.ApplicationName, Pooling = false }.ConnectionString);
                        await connection.OpenAsync(ct);
                        await using var begin = new NpgsqlCommand("BEGIN; SELECT 1", connection); // then never COMMIT
                        await begin.ExecuteNonQueryAsync(ct);
                        leaked.Add(connection);
                    }
                },
                async () =>
                {
                    foreach (var connection in leaked)
                    {
                        await connection.DisposeAsync();
                    }
                }),
            new($"saturate the pool (hold all {PoolSize} connections in open transactions)", "pool-saturation",
                async ct => await PostAsync(baseAddress, $"demo/faults/hold-connections/{PoolSize}", ct),
                () => Task.CompletedTask),
            new("flip Redis to maxmemory-policy noeviction", "redis-policy",
                async _ => await adminRedis.GetServer("127.0.0.1", redis.Port).ConfigSetAsync("maxmemory-policy", "noeviction"),
                () => Task.CompletedTask),
            new("kill workers mid-job (5 leased jobs abandoned)", "emails-stuck",
                async ct =>
                {
                    // A worker process that dies after taking jobs: leases taken, never completed, never heartbeated.
                    var queue = orders.Services.GetRequiredService<IJobQueueFactory>().GetQueue("emails");
                    var taken = 0;
                    while (taken < 5 && !ct.IsCancellationRequested)
                    {
                        taken += (await queue.DequeueAsync(5 - taken, ct)).Count;
                        await Task.Delay(50, ct);
                    }
                },
                () => Task.CompletedTask),
            new("slow an endpoint (GET /orders/{id} +400 ms)", "orders-latency",
                async ct => await SetLatencyAsync(baseAddress, 400),
                () => SetLatencyAsync(baseAddress, 0)),
        ];

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(8), cancel);
            foreach (var scenario in scenarios)
            {
                var record = new FaultRecord(scenario.Name, scenario.Rule);
                records.Add(record);
                current = record;
                narrator.Say("FAULT", scenario.Name);
                record.InjectedAt = narrator.Now;
                await scenario.Inject(cancel);
                var deadline = narrator.Now + TimeSpan.FromSeconds(75);
                while (!record.Done && narrator.Now < deadline)
                {
                    await Task.Delay(200, cancel);
                }

                if (!record.Done)
                {
                    narrator.Say("FAILED", $"{scenario.Name}: not recovered within 75 s");
                }

                await scenario.CleanUp();
                current = null;
                await Task.Delay(TimeSpan.FromSeconds(4), cancel);
            }
        }
        catch (OperationCanceledException)
        {
            narrator.Say("STOP", "Ctrl-C: stopping the service and removing the servers");
        }
        finally
        {
            await load.CancelAsync();
            await generator;
            await orders.StopAsync(CancellationToken.None);
            events.Dispose();
            await watcher;
            await adminRedis.DisposeAsync();
            foreach (var connection in leaked)
            {
                await connection.DisposeAsync();
            }
        }

        PrintSummary(records);
        return records.Count == scenarios.Length && records.All(r => r.Done) ? 0 : 1;
    }

    private static async Task WatchAsync(ReconciliationEvents.Subscription events, Narrator narrator, Func<FaultRecord?> current)
    {
        await foreach (var e in events.Reader.ReadAllAsync())
        {
            var record = current();
            var ours = record is not null && e.Rule == record.Rule;
            switch (e.Kind)
            {
                case ReconciliationEventKind.ViolationOpened:
                    narrator.Say("DETECT", $"rule {e.Rule} on {e.Resource}: {e.Signal} = {Format(e.Observed)}");
                    if (ours && record!.DetectedAt is null)
                    {
                        record.DetectedAt = narrator.Now;
                    }

                    break;
                case ReconciliationEventKind.HealStarted:
                    narrator.Say("HEAL", $"{e.Healer} on {e.Resource} (rule {e.Rule}, attempt {e.Attempt})");
                    break;
                case ReconciliationEventKind.HealSucceeded:
                    narrator.Say("HEALED", $"{e.Healer} on {e.Resource}: verified, the violation closed");
                    if (ours && record!.HealedAt is null)
                    {
                        record.HealedAt = narrator.Now;
                        record.Healer = e.Healer;
                    }

                    break;
                case ReconciliationEventKind.HealFailed:
                    narrator.Say("FAILED", $"{e.Healer} on {e.Resource}: {e.Reason}");
                    break;
                case ReconciliationEventKind.HealSkipped:
                    narrator.Say("SKIP", $"{e.Healer} on {e.Resource}: {e.Reason}");
                    break;
                case ReconciliationEventKind.ViolationExhausted:
                    narrator.Say("FAILED", $"rule {e.Rule} on {e.Resource}: every healer used up");
                    break;
                case ReconciliationEventKind.ViolationClosed:
                    narrator.Say("RECOVER", $"rule {e.Rule} on {e.Resource}: {e.Signal} = {Format(e.Observed)}");
                    if (ours && record!.RecoveredAt is null && record.DetectedAt is not null)
                    {
                        record.RecoveredAt = narrator.Now;
                    }

                    break;
                case ReconciliationEventKind.ProbeFailed:
                    narrator.Say("PROBE", $"{e.Resource}: {e.Reason}");
                    break;
                default:
                    break;
            }
        }
    }

    private static void PrintSummary(List<FaultRecord> records)
    {
        static string At(TimeSpan? from, TimeSpan? to) => from is { } f && to is { } t ? $"{(t - f).TotalSeconds:0.0} s" : "—";
        Console.WriteLine();
        Console.WriteLine("Summary");
        Console.WriteLine($"{"fault",-66} {"rule",-18} {"detected",8} {"healed",8} {"recovered",9}  healer");
        Console.WriteLine(new string('-', 134));
        foreach (var r in records)
        {
            Console.WriteLine($"{r.Name,-66} {r.Rule,-18} {At(r.InjectedAt, r.DetectedAt),8} {At(r.InjectedAt, r.HealedAt),8} {At(r.InjectedAt, r.RecoveredAt),9}  {r.Healer ?? "—"}");
        }

        Console.WriteLine(new string('-', 134));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{records.Count} faults injected, {records.Count(r => r.DetectedAt is not null)} detected, {records.Count(r => r.HealedAt is not null)} healed, {records.Count(r => r.Done)} recovered (times since injection)."));
    }

    private static string Format(double? value) => value is double v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "no reading";

    private static async Task SetLatencyAsync(Uri baseAddress, int milliseconds) =>
        await PostAsync(baseAddress, $"demo/faults/latency/{milliseconds}", CancellationToken.None);

    private static async Task PostAsync(Uri baseAddress, string path, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsync(path, null, ct);
        response.EnsureSuccessStatusCode();
    }
}
