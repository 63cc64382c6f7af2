using Npgsql;
using OpenTelemetry.Metrics;
using Reconciliation.Sample.Orders.Jobs;
using Reconciliation.Sample.Orders.Orders;
using Reconciliation.Sample.Orders.Faults;
using StackExchange.Redis;

namespace Reconciliation.Sample.Orders;

/// <summary>A small orders service on PostgreSQL, Redis and the Postgres job queue, kept healthy by Reconciliation.</summary>
public static class OrdersApp
{
    /// <summary>The application_name of this service's sessions: the idle-in-transaction healer only ever touches these.</summary>
    public const string ApplicationName = "orders-api";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Content root = the binaries' folder, so appsettings.json is found however the app is launched (dotnet run, the demo, a test).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);

        var postgres = new NpgsqlConnectionStringBuilder(builder.Configuration.GetConnectionString("Orders")
            ?? throw new InvalidOperationException("Set ConnectionStrings:Orders (the PostgreSQL connection string)."))
        {
            ApplicationName = ApplicationName,
        };
        // Npgsql's pool metrics are process-wide, keyed by pool name: two replicas in one process (as the demo runs them)
        // need pools of their own names, or each replica's probe would read the other's pool.
        var replica = builder.Configuration["Reconciliation:ReplicaId"];
        var poolName = replica is null ? "orders-db" : $"orders-db ({replica})";
        var dataSource = new NpgsqlDataSourceBuilder(postgres.ConnectionString) { Name = poolName }.Build();
        var redis = ConnectionMultiplexer.Connect(builder.Configuration.GetConnectionString("Redis")
            ?? throw new InvalidOperationException("Set ConnectionStrings:Redis (the StackExchange.Redis configuration)."));
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
        builder.Services.AddSingleton<FaultSwitchboard>();
        builder.Services.AddHostedService<OrdersSchema>();

        // The library in a handful of lines; thresholds live in appsettings.json.
        var reconciliation = builder.Services.AddStateReconciliation(builder.Configuration.GetSection("Reconciliation"))
            // The ages and windows below are short so the demo heals within seconds; production keeps the defaults.
            .AddPostgres("orders-db", dataSource, o =>
            {
                o.ApplicationNames.Add(ApplicationName);
                o.PoolName = poolName;
                o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(3);
            })
            .AddRedis("cache", redis, o =>
            {
                o.MaxMemoryPolicy = "allkeys-lru";
                o.OwnsMaxMemoryPolicy = true; // the demo's Redis is the app's own: set-policy may correct it
            })
            .AddPostgresQueue("emails", o =>
            {
                o.DataSource = dataSource;
                o.VisibilityTimeout = TimeSpan.FromSeconds(5);
            })
            .AddQueueWorker<SendConfirmationEmailHandler, ConfirmationEmail>("emails", o => o.Concurrency = 4)
            .AddHttpLatency(o =>
            {
                o.RouteGroups["orders"] = ["/orders"];
                o.Window = TimeSpan.FromSeconds(10);
            })
            .AddHttpWebhook(builder.Configuration.GetSection("Webhook"));

        // Several replicas: one heal journal, lease and rule state for the fleet, so each fault is healed once, and
        // limits survive restarts. Each replica sets its own Reconciliation:ReplicaId (default: the machine name).
        if (builder.Configuration.GetConnectionString("Coordination") is { Length: > 0 } coordination)
        {
            reconciliation.UsePostgresCoordination(coordination);
        }

        // Liveness counts rules tagged "live", readiness those tagged "ready" (the pool-saturation rule in appsettings.json).
        builder.Services.AddHealthChecks().AddReconciliationLiveAndReady();

        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddReconciliationInstrumentation()
            .AddMeter("Microsoft.AspNetCore.Hosting", "Npgsql")
            .AddPrometheusExporter());

        var app = builder.Build();
        // /healthz/live and /healthz/ready (503 while a readiness rule is open, Degraded ones included: the load balancer
        // routes around us), /metrics, and the status page with the operator controls at /reconciliation.
        app.MapReconciliationHealthChecks();
        app.MapPrometheusScrapingEndpoint("/metrics");
        // Who may silence, approve, pause and tick: this sample runs on loopback for the demo and has no users, so it opens
        // the controls explicitly. A real service names its policy instead: o.MutationPolicy = "operators" (see docs/controls.md).
        app.MapReconciliation("/reconciliation", o =>
        {
            o.AllowAnonymousReads = true;
            o.AllowAnonymousMutations = true;
        });
        app.MapOrders();
        app.MapFaults();
        return app;
    }
}
