using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Reconciliation;
using Reconciliation.ChaosHost;
using Reconciliation.ReplicaHost;
using Reconciliation.Sample.Orders;
using Reconciliation.Sample.Orders.Faults;

// The orders sample (PostgreSQL probes and healers, Redis, the job queue with its workers, HTTP latency, the process
// probe, coordination on PostgreSQL) as one OS process under a chaos storm, plus the harness's own faulty probe and
// healers. Connection strings come only from environment variables (CHAOS_ORDERS, CHAOS_REDIS, CHAOS_COORDINATION);
// everything it says is one JSON line on stdout (see ChaosArguments.Usage).
ChaosArguments arguments;
try
{
    arguments = ChaosArguments.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + ChaosArguments.Usage);
    return 2;
}

Output.SetReplica(arguments.Replica);

// An exception of a task nobody awaited is a defect of the library (or of this host): the harness fails on this line.
TaskScheduler.UnobservedTaskException += (_, e) =>
{
    Output.Line("unobserved", json => json.WriteString("error", SecretScrubber.Describe(e.Exception)));
    e.SetObserved();
};

try
{
    await using var app = OrdersApp.Build(["--urls", arguments.Url], builder =>
    {
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Orders"] = ChaosArguments.Secret("CHAOS_ORDERS"),
            ["ConnectionStrings:Redis"] = ChaosArguments.Secret("CHAOS_REDIS"),
            ["ConnectionStrings:Coordination"] = Environment.GetEnvironmentVariable("CHAOS_COORDINATION"),
            ["Reconciliation:ReplicaId"] = arguments.Replica,
            ["Webhook:Url"] = arguments.Url.TrimEnd('/') + "/chaos/rollback",
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft"] = "Warning",
            ["Logging:LogLevel:Reconciliation.Sample"] = "Warning",
        });

        // The storm's rules and policies; reloaded when the harness rewrites the file (an invalid one must be rejected).
        builder.Configuration.AddJsonFile(Path.GetFullPath(arguments.RulesFile), optional: false, reloadOnChange: true);
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new JsonLineLoggerProvider());

        var faults = new FaultFile(Path.GetFullPath(arguments.FaultFile));
        builder.Services.AddSingleton(faults);
        builder.Services.AddHostedService<EventPrinter>();
        builder.Services.AddHostedService<ParentWatchdog>();
        builder.Services.AddHostedService(sp => new ResourceSampler(arguments.SampleInterval, sp.GetRequiredService<TimeProvider>()));
        ChaosExtensions.Add(builder.Services, faults);
    });

    app.MapPost("/chaos/rollback", (FaultSwitchboard board) =>
    {
        // The webhook healer's target: "roll back" the slow deploy.
        board.Latency = TimeSpan.Zero;
        Output.Line("rollback");
        return Results.NoContent();
    });

    var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
    lifetime.ApplicationStopping.Register(static () => Output.Line("stopping"));
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    Output.Line("ready", json => json.WriteString("url", address));
    await app.WaitForShutdownAsync();
    Output.Line("stopped");
    return 0;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Output.Line("fatal", json => json.WriteString("error", SecretScrubber.Describe(e)));
    return 3;
}

namespace Reconciliation.ChaosHost
{
    /// <summary>The command line; it never carries a secret.</summary>
    internal sealed record ChaosArguments
    {
        public const string Usage = """
            Reconciliation.ChaosHost: the orders sample under a chaos storm (for the chaos tests; never packed).
              --replica <id>          Reconciliation:ReplicaId (default chaos-1)
              --urls <url>            where the orders API listens (default http://127.0.0.1:0)
              --rules <file.json>     the storm's Reconciliation section; reloaded on change (required)
              --fault-file <path>     key=value lines the harness writes: probe (1 hang, 2 throw, 3 block), and the
                                      resources healer-hang / healer-throw / healer-nofix (1 = faulted) (required)
              --sample-ms <ms>        how often to print a resource sample (default 2000)
            Environment: CHAOS_ORDERS, CHAOS_REDIS (required), CHAOS_COORDINATION (optional), CHAOS_PLANTED (a secret
            the throwing healer puts in its exception, which must never be printed).
            """;

        public string Replica { get; init; } = "chaos-1";

        public string Url { get; init; } = "http://127.0.0.1:0";

        public required string RulesFile { get; init; }

        public required string FaultFile { get; init; }

        public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(2);

        public static ChaosArguments Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"expected '--switch value' pairs; argument {i + 1} has no value or is not a switch");
                }

                values[args[i]] = args[i + 1];
            }

            string? Take(string name) => values.Remove(name, out var value) ? value : null;
            var parsed = new ChaosArguments
            {
                Replica = Take("--replica") ?? "chaos-1",
                Url = Take("--urls") ?? "http://127.0.0.1:0",
                RulesFile = Take("--rules") ?? throw new ArgumentException("--rules is required"),
                FaultFile = Take("--fault-file") ?? throw new ArgumentException("--fault-file is required"),
                SampleInterval = Take("--sample-ms") is { } ms ? TimeSpan.FromMilliseconds(int.Parse(ms, CultureInfo.InvariantCulture)) : TimeSpan.FromSeconds(2),
            };
            return values.Count > 0 ? throw new ArgumentException($"unknown switch {values.Keys.First()}") : parsed;
        }

        public static string Secret(string variable) =>
            Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
                ? value
                : throw new ArgumentException($"the environment variable {variable} is not set");
    }
}
