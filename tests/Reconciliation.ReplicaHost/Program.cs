using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation;
using Reconciliation.ReplicaHost;
using StackExchange.Redis;

// One replica of a reconciled service, run by the fleet tests as a separate OS process (see HostArguments.Usage).
// Real time, real servers: no fake clock here; the tests use short intervals and wait on the lines this prints.
HostArguments arguments;
try
{
    arguments = HostArguments.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + HostArguments.Usage);
    return 2;
}

Output.SetReplica(arguments.Replica);
try
{
    using var host = Build(arguments);
    var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
    lifetime.ApplicationStopping.Register(static () => Output.Line("stopping"));
    await host.StartAsync();
    Output.Line("ready", json => json.WriteString("coordination", arguments.Coordination));
    await host.WaitForShutdownAsync();
    Output.Line("stopped");
    return 0;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Output.Line("fatal", json => json.WriteString("error", SecretScrubber.Describe(e)));
    return 3;
}

static IHost Build(HostArguments arguments)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    builder.Logging.ClearProviders();
    builder.Logging.AddProvider(new JsonLineLoggerProvider());
    builder.Logging.SetMinimumLevel(LogLevel.Debug);

    // Defaults for a test fleet (the rules file overrides them): short interval, no warm-up.
    var section = ReconciliationOptions.SectionName;
    if (arguments.Rules is { } rules && rules.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
    {
        builder.Configuration.AddJsonFile(Path.GetFullPath(rules), optional: false, reloadOnChange: false);
    }
    else if (arguments.Rules is { } named)
    {
        section = named;
    }

    builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
    {
        InitialData = new Dictionary<string, string?>
        {
            [$"{section}:Interval"] = "00:00:00.500",
            [$"{section}:WarmUp"] = "00:00:00",
        },
    });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"{section}:ReplicaId"] = arguments.Replica });

    var services = builder.Services;
    var reconciliation = services.AddStateReconciliation(builder.Configuration.GetSection(section));

    if (arguments.AppPostgresVariable is { } appPostgres)
    {
        var dataSource = NpgsqlDataSource.Create(HostArguments.Secret(appPostgres, "--app-postgres"));
        services.AddSingleton(dataSource);
        reconciliation.AddPostgres("main-db", builder.Configuration.GetSection("Postgres:main-db"), _ => dataSource);
    }

    if (arguments.AppRedisVariable is { } appRedis)
    {
        var options = ConfigurationOptions.Parse(HostArguments.Secret(appRedis, "--app-redis"));
        options.AbortOnConnectFail = false;
        var multiplexer = ConnectionMultiplexer.Connect(options);
        services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        reconciliation.AddRedis("cache", multiplexer, builder.Configuration.GetSection("Redis:cache"));
    }

    if (arguments.FaultFile is { } faultFile)
    {
        var file = new FaultFile(Path.GetFullPath(faultFile));
        services.AddSingleton(file);
        reconciliation.AddProbe(_ => new FaultProbe(file, "shared"));
        reconciliation.AddProbe(_ => new FaultProbe(file, "local"));
        reconciliation.AddHealer<HangingHealer>();
        reconciliation.AddHealer<LocalHealer>();
    }

    switch (arguments.Coordination)
    {
        case "postgres":
            Coordination.UsePostgres(reconciliation, HostArguments.Secret(arguments.ConnectionVariable, "--connection"), arguments);
            break;
        case "redis":
            Coordination.UseRedis(reconciliation, HostArguments.Secret(arguments.ConnectionVariable, "--connection"), arguments);
            break;
    }

    // Every journal write is printed with its result, whichever journal is in force.
    var journal = services.LastOrDefault(d => d.ServiceType == typeof(IHealJournal) && !d.IsKeyedService)
        ?? throw new InvalidOperationException("no IHealJournal is registered");
    services.Replace(ServiceDescriptor.Singleton<IHealJournal>(sp => new RecordingHealJournal(Resolve(sp, journal))));
    services.AddHostedService<EventPrinter>();
    services.AddHostedService<ParentWatchdog>();
    return builder.Build();
}

static IHealJournal Resolve(IServiceProvider services, ServiceDescriptor descriptor) =>
    (IHealJournal)(descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
