using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Reconciliation.Tool.Configuration;

/// <summary>
/// Registers the engine and every resource of <c>reconcile.json</c> with the adapters' own registration methods (the same
/// code an app calls), then leaves out what only makes sense inside the app's process: healers whose scope is
/// <see cref="HealScope.Process"/> (<c>app.restart</c>, <c>postgres.clear-pool</c>, <c>redis.reconnect</c> act on the
/// process they run in, which here is the tool, not the service) and probes that measure only this process
/// (<c>process.*</c>, the app pool's <c>postgres.pool.*</c>). A rule that names one of them fails at start, naming its key.
/// </summary>
internal static class ToolServices
{
    /// <summary>The key every adapter's probe and healer registration is moved under before the process-local ones are filtered out.</summary>
    internal const string AllKey = "reconcile:registered";

    private static readonly string[] ProcessLocalSignalPrefixes = ["process.", "postgres.pool."];

    /// <summary>Adds everything; returns what the caller disposes when done (connections built here).</summary>
    /// <exception cref="ToolConfigurationException">A resource's settings are wrong (each message names the key).</exception>
    public static async Task<ToolResources> AddAsync(IServiceCollection services, IConfiguration configuration, CancellationToken cancellationToken)
    {
        var root = configuration.GetSection(ToolConfiguration.Root);
        var resources = new ToolResources();
        var errors = new List<string>();
        var builder = services.AddStateReconciliation(root);
        try
        {
            foreach (var section in root.GetSection(ToolConfiguration.Postgres).GetChildren())
            {
                if (DataSource(section, "ConnectionString", errors) is { } dataSource)
                {
                    resources.Add(dataSource);
                    resources.PostgresResources.Add(section.Key);
                    resources.DataSources[section.Key] = dataSource;
                    builder.AddPostgres(section.Key, section, _ => dataSource);
                }
            }

            foreach (var section in root.GetSection(ToolConfiguration.PgBouncer).GetChildren())
            {
                builder.AddPgBouncer(section.Key, section);
            }

            foreach (var section in root.GetSection(ToolConfiguration.Redis).GetChildren())
            {
                ConfigurationOptions options;
                try
                {
                    options = ConfigurationOptions.Parse(section["Configuration"]!);
                }
                catch (ArgumentException e)
                {
                    errors.Add($"{section.Path}:Configuration is not a StackExchange.Redis configuration string: {SecretScrubber.Scrub(e.Message)}");
                    continue;
                }

                // An unreachable server is a probe failure to report (and a gate failure), never a crash of the tool.
                options.AbortOnConnectFail = false;
                var multiplexer = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(cancellationToken);
                resources.Add(multiplexer);
                builder.AddRedis(section.Key, multiplexer, section);
            }

            foreach (var section in root.GetSection(ToolConfiguration.Queues).GetChildren())
            {
                NpgsqlDataSource? dataSource;
                if (section[ToolConfiguration.QueuePostgresKey] is { } postgres)
                {
                    resources.DataSources.TryGetValue(postgres, out dataSource);
                }
                else if ((dataSource = DataSource(section, "ConnectionString", errors)) is not null)
                {
                    resources.Add(dataSource);
                }

                if (dataSource is null)
                {
                    continue;
                }

                // The tool watches a queue the service owns: it creates no table, rescues nothing on its own schedule and
                // listens to nothing, unless the file says otherwise. Healers (queue.requeue-stuck, queue.dead-letter) act through rules.
                var explicitMigrate = section["MigrateSchema"] is not null;
                var explicitRescue = section["Rescue"] is not null;
                var explicitNotify = section["Notify"] is not null;
                builder.AddPostgresQueue(section.Key, section, o =>
                {
                    o.DataSource = dataSource;
                    o.MigrateSchema = explicitMigrate && o.MigrateSchema;
                    o.Rescue = explicitRescue && o.Rescue;
                    o.Notify = explicitNotify && o.Notify;
                });
            }

            foreach (var section in root.GetSection(ToolConfiguration.HttpEndpoints).GetChildren())
            {
                builder.AddHttpEndpoint(section.Key, section);
            }

            foreach (var section in root.GetSection(ToolConfiguration.Webhooks).GetChildren())
            {
                builder.AddHttpWebhook(section.Key, section);
            }
        }
        catch (InvalidOperationException e)
        {
            // An adapter refused a registration (a name given twice): its message names the resource.
            errors.Add(SecretScrubber.Scrub(e.Message));
        }

        if (errors.Count > 0)
        {
            await resources.DisposeAsync();
            throw new ToolConfigurationException(errors);
        }

        LeaveOutProcessLocal(services);
        return resources;
    }

    /// <summary>True for a probe whose every signal describes only the process it runs in.</summary>
    internal static bool IsProcessLocal(IProbe probe) =>
        probe.Signals.Count > 0 && probe.Signals.All(s => ProcessLocalSignalPrefixes.Any(p => s.Name.StartsWith(p, StringComparison.Ordinal)));

    internal static bool IsProcessLocalSignal(string signal) =>
        ProcessLocalSignalPrefixes.Any(p => signal.StartsWith(p, StringComparison.Ordinal));

    private static NpgsqlDataSource? DataSource(IConfigurationSection section, string key, List<string> errors)
    {
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder(section[key]);
            return new NpgsqlDataSourceBuilder(connectionString.ConnectionString) { Name = "reconcile:" + section.Key }.Build();
        }
        catch (ArgumentException e)
        {
            errors.Add($"{section.Path}:{key} is not a PostgreSQL connection string: {SecretScrubber.Scrub(e.Message)}");
            return null;
        }
    }

    private static void LeaveOutProcessLocal(IServiceCollection services)
    {
        MoveUnderKey(services, typeof(IHealer));
        MoveUnderKey(services, typeof(IProbe));

        // An explicit IEnumerable<T> registration is what a constructor's IEnumerable<T> parameter receives.
        services.AddSingleton<IEnumerable<IHealer>>(static sp =>
            sp.GetKeyedServices<IHealer>(AllKey).Where(h => h.Scope != HealScope.Process).ToArray());
        services.AddSingleton<IEnumerable<IProbe>>(static sp =>
            sp.GetKeyedServices<IProbe>(AllKey).Where(p => !IsProcessLocal(p)).ToArray());
        services.AddSingleton<IValidateOptions<ReconciliationOptions>>(static sp =>
            new ProcessLocalRulesValidator(sp.GetKeyedServices<IHealer>(AllKey).Where(h => h.Scope == HealScope.Process).Select(h => h.Name).ToHashSet(StringComparer.Ordinal)));
    }

    private static void MoveUnderKey(IServiceCollection services, Type type)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var d = services[i];
            if (d.ServiceType != type || d.IsKeyedService)
            {
                continue;
            }

            services[i] = d switch
            {
                { ImplementationInstance: { } instance } => new ServiceDescriptor(type, AllKey, instance),
                { ImplementationFactory: { } factory } => new ServiceDescriptor(type, AllKey, (sp, _) => factory(sp), d.Lifetime),
                _ => new ServiceDescriptor(type, AllKey, d.ImplementationType!, d.Lifetime),
            };
        }
    }

    /// <summary>Fails start when a rule relies on something the tool left out, naming the rule's key and why.</summary>
    private sealed class ProcessLocalRulesValidator(HashSet<string> processHealers) : IValidateOptions<ReconciliationOptions>
    {
        public ValidateOptionsResult Validate(string? name, ReconciliationOptions options)
        {
            var errors = new List<string>();
            var root = ToolConfiguration.Root;
            foreach (var (ruleName, rule) in options.Rules)
            {
                if (!rule.Enabled)
                {
                    continue;
                }

                if (rule.Signal is { } signal && IsProcessLocalSignal(signal))
                {
                    errors.Add($"{root}:Rules:{ruleName}:Signal is '{signal}', which measures the process it is read in: reconcile would measure itself, not your service. Keep this rule in the service's own configuration.");
                }

                for (var i = 0; i < rule.Heal.Count; i++)
                {
                    if (processHealers.Contains(rule.Heal[i]))
                    {
                        errors.Add($"{root}:Rules:{ruleName}:Heal:{i} names '{rule.Heal[i]}', which acts on the process it runs in (here the tool, not your service), so reconcile leaves it out. Keep it in the service's own configuration.");
                    }
                }
            }

            for (var i = 0; i < options.AllowDestructive.Count; i++)
            {
                if (processHealers.Contains(options.AllowDestructive[i]))
                {
                    errors.Add($"{root}:AllowDestructive:{i} names '{options.AllowDestructive[i]}', which acts on the process it runs in; reconcile leaves it out.");
                }
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}

/// <summary>Connections the tool built from the configuration; disposed when the command ends.</summary>
internal sealed class ToolResources : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public List<string> PostgresResources { get; } = [];

    public Dictionary<string, NpgsqlDataSource> DataSources { get; } = new(StringComparer.Ordinal);

    public void Add(IAsyncDisposable disposable) => _owned.Add(disposable);

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _owned.Clear();
    }
}
