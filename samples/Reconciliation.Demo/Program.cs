using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Demo;
using Reconciliation.Engine;
using Reconciliation.Events;
using Reconciliation.TestServers;

// A broken environment, healed live: a throwaway PostgreSQL, an application that leaks idle-in-transaction
// sessions, and the reconciler detecting and terminating them. Ctrl-C stops everything and leaves no server running.
const string leakyApp = "demo-leaky-app";
using var shutdown = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; shutdown.Cancel(); };

Console.WriteLine("Starting a throwaway PostgreSQL on 127.0.0.1 ...");
await using var postgres = await PostgresServer.StartAsync(shutdown.Token);
Console.WriteLine($"PostgreSQL is up on port {postgres.Port}.");
await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionStringFor("postgres", applicationName: "demo-reconciler"));

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddStateReconciliation(o =>
    {
        o.Interval = TimeSpan.FromSeconds(1);
        o.WarmUp = TimeSpan.Zero;
    })
    .AddProbe(_ => new LeakedTransactionsProbe(dataSource, "demo-db", leakyApp))
    .AddHealer(_ => new TerminateLeakedTransactionsHealer(dataSource, "demo-db", leakyApp))
    .AllowDestructive(TerminateLeakedTransactionsHealer.HealerName)
    .ConfigureHealer(TerminateLeakedTransactionsHealer.HealerName, p => p.Cooldown = TimeSpan.FromSeconds(2))
    .AddRule("leaked-transactions", r =>
    {
        r.Signal = LeakedTransactionsProbe.Signal;
        r.Above = 0;
        r.For = TimeSpan.FromSeconds(2);
        r.Heal.Add(TerminateLeakedTransactionsHealer.HealerName);
    });

using var host = builder.Build();
var events = host.Services.GetRequiredService<ReconciliationEvents>();
using var subscription = events.Subscribe();
var clock = Stopwatch();
_ = Task.Run(async () =>
{
    await foreach (var e in subscription.Reader.ReadAllAsync())
    {
        Console.WriteLine($"  [{clock():00.0}s] {e.Kind,-18} {e.Rule} {e.Resource} {(e.Healer is null ? "" : "healer=" + e.Healer)} {(e.Observed is null ? "" : "observed=" + e.Observed)} {e.Reason}");
    }
});

await host.StartAsync(shutdown.Token);
Console.WriteLine("Reconciler running. Leaking 3 idle-in-transaction sessions now ...");
var leaked = new List<NpgsqlConnection>();
for (var i = 0; i < 3; i++)
{
    var connection = new NpgsqlConnection(postgres.ConnectionStringFor("postgres", pooling: false, applicationName: leakyApp));
    await connection.OpenAsync(shutdown.Token);
    // Npgsql sends BEGIN lazily, with the first command: run one, then never commit (the classic leak).
    await using (var begin = new NpgsqlCommand("BEGIN; SELECT 1", connection))
    {
        await begin.ExecuteNonQueryAsync(shutdown.Token);
    }

    leaked.Add(connection);
}

var reconciler = host.Services.GetRequiredService<IReconciler>();
try
{
    for (var second = 0; second < 30 && !shutdown.IsCancellationRequested; second++)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), shutdown.Token);
        if (reconciler.LatestReport is { } report && report.Tick > 4 && report.IsHealthy && report.ValueOf(LeakedTransactionsProbe.Signal, "demo-db") == 0)
        {
            break;
        }
    }
}
catch (OperationCanceledException)
{
}

var final = reconciler.LatestReport;
Console.WriteLine();
Console.WriteLine(final is null ? "No report." : $"Final report (tick {final.Tick}): {(final.IsHealthy ? "healthy" : "violations open")}");
if (final is not null)
{
    foreach (var reading in final.Signals)
    {
        Console.WriteLine($"  {reading.Signal,-34} {reading.Resource,-10} {(reading.Value is double v ? v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "no reading")}");
    }
}

await host.StopAsync(CancellationToken.None);
foreach (var connection in leaked)
{
    await connection.DisposeAsync();
}

Console.WriteLine("Stopped; the throwaway PostgreSQL is removed.");
return final is { IsHealthy: true } ? 0 : 1;

static Func<double> Stopwatch()
{
    var watch = System.Diagnostics.Stopwatch.StartNew();
    return () => watch.Elapsed.TotalSeconds;
}
