using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
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

        // Two replicas of the orders service, as a deployment runs it: coordination on PostgreSQL gives them one heal
        // journal, lease and rule state, so a fault both of them see is healed once, by one of them.
        await using var orders = BuildReplica("orders-1", ordersConnection, database, redis.ConnectionString, receiver.Url, secret);
        await using var second = BuildReplica("orders-2", ordersConnection, database, redis.ConnectionString, receiver.Url, secret);
        var replicas = new[] { (Name: "orders-1", App: orders), (Name: "orders-2", App: second) };
        var subscriptions = replicas.Select(r => (r.Name, Events: r.App.Services.GetRequiredService<ReconciliationEvents>().Subscribe())).ToArray();
        foreach (var (_, app) in replicas)
        {
            await app.StartAsync(cancel);
        }

        var warmUpEnds = narrator.Now + replicas[0].App.Services.GetRequiredService<IOptions<ReconciliationOptions>>().Value.WarmUp;
        var addresses = replicas.Select(r => new Uri(r.App.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First())).ToArray();
        var baseAddress = addresses[0];
        receiver.OnRollback = () => SetLatencyAsync(baseAddress, 0);
        narrator.Say("SETUP", $"two replicas: orders-1 on {addresses[0]}, orders-2 on {addresses[1]} — status page: {baseAddress}reconciliation  metrics: {baseAddress}metrics");
        narrator.Say("SETUP", "coordination on PostgreSQL (schema reconciliation): one heal journal and lease for both replicas");

        var records = new List<FaultRecord>();
        FaultRecord? RecordOf(string? rule)
        {
            lock (records)
            {
                return records.LastOrDefault(r => r.Rule == rule);
            }
        }

        var watchers = subscriptions.Select(sub => Task.Run(() => WatchAsync(sub.Name, sub.Events, narrator, RecordOf), CancellationToken.None)).ToArray();

        using var load = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var generators = addresses.Select(address => Task.Run(() => LoadGenerator.RunAsync(address, load.Token), CancellationToken.None)).ToArray();
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
            await WarmUpAsync(replicas.Select(r => r.App.Services.GetRequiredService<IReconciler>()).ToArray(), warmUpEnds, narrator, cancel);
            foreach (var scenario in scenarios)
            {
                var record = new FaultRecord(scenario.Name, scenario.Rule);
                lock (records)
                {
                    records.Add(record);
                }

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
            await Task.WhenAll(generators);
            foreach (var (_, app) in replicas)
            {
                await app.StopAsync(CancellationToken.None);
            }

            foreach (var (_, events) in subscriptions)
            {
                events.Dispose();
            }

            await Task.WhenAll(watchers);
            await adminRedis.DisposeAsync();
            foreach (var connection in leaked)
            {
                await connection.DisposeAsync();
            }
        }

        PrintSummary(records);
        // Each fault recovered, and no replica started a heal while the other's heal of the same rule ran.
        return records.Count == scenarios.Length && records.All(r => r.Done && r.HealedAtOnce == 0) ? 0 : 1;
    }

    /// <summary>
    /// Waits out the replicas' warm-up (no heals before it: the first requests of a fresh process are slow while it
    /// compiles, which must not roll a release back) and then until both report every rule clear, so each fault starts
    /// from a healthy service. At most a minute; the demo goes on either way and the summary shows what happened.
    /// </summary>
    private static async Task WarmUpAsync(IReconciler[] replicas, TimeSpan warmUpEnds, Narrator narrator, CancellationToken cancel)
    {
        var deadline = narrator.Now + TimeSpan.FromMinutes(1);
        while (narrator.Now < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancel);
            if (narrator.Now >= warmUpEnds && replicas.All(r => r.LatestReport is { IsHealthy: true }))
            {
                narrator.Say("SETUP", "warmed up: both replicas report every rule clear");
                return;
            }
        }
    }

    private static WebApplication BuildReplica(string replica, string ordersConnection, string coordination, string redis, string webhook, string secret) =>
        OrdersApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Orders"] = ordersConnection,
                ["ConnectionStrings:Coordination"] = coordination,
                ["ConnectionStrings:Redis"] = redis,
                ["Reconciliation:ReplicaId"] = replica,
                ["Webhook:Url"] = webhook,
                ["Webhook:Secret"] = secret,
                ["Logging:LogLevel:Default"] = "None", // the narrator tells the story; the logs would flood it
            });
            builder.Logging.ClearProviders();
        });

    private static async Task WatchAsync(string replica, ReconciliationEvents.Subscription events, Narrator narrator, Func<string?, FaultRecord?> recordOf)
    {
        await foreach (var e in events.Reader.ReadAllAsync())
        {
            // Events count toward the latest fault of their rule: a heal's verdict may come after the fault recovered.
            var record = recordOf(e.Rule);
            var ours = record is not null;
            switch (e.Kind)
            {
                case ReconciliationEventKind.ViolationOpened:
                    record?.Opened(replica);
                    narrator.Say("DETECT", $"{replica}: rule {e.Rule} on {e.Resource}: {e.Signal} = {Format(e.Observed)}");
                    if (ours && record!.DetectedAt is null)
                    {
                        record.DetectedAt = narrator.Now;
                    }

                    break;
                case ReconciliationEventKind.HealStarted:
                    if (ours)
                    {
                        record!.HealStarted(replica);
                    }

                    narrator.Say("HEAL", $"{replica}: {e.Healer} on {e.Resource} (rule {e.Rule}, attempt {e.Attempt})");
                    break;
                case ReconciliationEventKind.HealSucceeded:
                    record?.HealEnded(replica);
                    narrator.Say("HEALED", $"{replica}: {e.Healer} on {e.Resource}: verified, the violation closed");
                    if (ours)
                    {
                        if (record!.HealedAt is null)
                        {
                            record.HealedAt = narrator.Now;
                            record.Healer = $"{e.Healer} by {replica}";
                        }
                    }

                    break;
                case ReconciliationEventKind.HealFailed:
                    record?.HealEnded(replica);
                    narrator.Say("FAILED", $"{replica}: {e.Healer} on {e.Resource}: {e.Reason}");
                    break;
                case ReconciliationEventKind.HealSkipped:
                    record?.HealEnded(replica);
                    narrator.Say("SKIP", $"{replica}: {e.Healer} on {e.Resource}: {e.Reason}");
                    break;
                case ReconciliationEventKind.ViolationExhausted:
                    narrator.Say("FAILED", $"{replica}: rule {e.Rule} on {e.Resource}: every healer used up");
                    break;
                case ReconciliationEventKind.ViolationClosed:
                    record?.Closed(replica);
                    narrator.Say("RECOVER", $"{replica}: rule {e.Rule} on {e.Resource}: {e.Signal} = {Format(e.Observed)}");
                    if (ours && record!.RecoveredAt is null && record.DetectedAt is not null)
                    {
                        record.RecoveredAt = narrator.Now;
                    }

                    break;
                case ReconciliationEventKind.ProbeFailed:
                    narrator.Say("PROBE", $"{replica}: {e.Resource}: {e.Reason}");
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
        Console.WriteLine($"{"fault",-66} {"rule",-18} {"detected",8} {"healed",8} {"recovered",9} {"episodes",8} {"heals",5}  healer");
        Console.WriteLine(new string('-', 159));
        foreach (var r in records)
        {
            Console.WriteLine($"{r.Name,-66} {r.Rule,-18} {At(r.InjectedAt, r.DetectedAt),8} {At(r.InjectedAt, r.HealedAt),8} {At(r.InjectedAt, r.RecoveredAt),9} {r.Episodes,8} {r.Attempts,5}  {r.Healer ?? "—"}");
        }

        Console.WriteLine(new string('-', 159));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{records.Count} faults injected, {records.Count(r => r.DetectedAt is not null)} detected, {records.Count(r => r.HealedAt is not null)} healed, {records.Count(r => r.Done)} recovered (times since injection)."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Two replicas, coordination on PostgreSQL: an episode lasts from the first replica seeing the violation to the last seeing it close; {records.Sum(r => r.Episodes)} episodes, {records.Sum(r => r.Attempts)} heals started, {records.Sum(r => r.HealedByBoth)} episodes healed by both replicas one after the other (a retry after a failed verification), {records.Sum(r => r.HealedAtOnce)} heals started while the other replica's heal of the same rule ran."));
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
