using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Reconciliation;
using Reconciliation.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Puts the fleet's coordination on PostgreSQL: the heal journal, the shared-resource lease and each replica's rule state
/// (the tables <c>heal_journal</c>, <c>heal_lease</c> and <c>rule_state</c>, created on first use).
/// </summary>
public static class PostgresCoordinationBuilderExtensions
{
    /// <summary>
    /// Keeps the heal journal, the lease and the rule state in the database <paramref name="connectionString"/> names, over
    /// a data source of the store's own (its <c>application_name</c> is <c>reconciliation-coordination</c> unless the
    /// string sets one), never the app's pool. Replaces the in-memory <see cref="IHealJournal"/>, <see cref="IHealLease"/>,
    /// <see cref="IRuleStateStore"/> and <see cref="IControlStore"/> (operator controls shared by the fleet).
    /// </summary>
    public static IReconciliationBuilder UsePostgresCoordination(this IReconciliationBuilder builder, string connectionString,
        Action<PostgresCoordinationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return UsePostgresCoordinationCore(builder, o => o.ConnectionString = connectionString, configure,
            static (_, options) => (PostgresCoordinationStore.CreateDataSource(options.ConnectionString!), true));
    }

    /// <summary>
    /// The same, with <see cref="PostgresCoordinationOptions"/> bound from <paramref name="configuration"/> (typically the
    /// section <c>Reconciliation:Coordination:Postgres</c>; validation messages name the keys under its path).
    /// </summary>
    public static IReconciliationBuilder UsePostgresCoordination(this IReconciliationBuilder builder, string connectionString, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var path = (configuration as IConfigurationSection)?.Path;
        UsePostgresCoordination(builder, connectionString);
        builder.Services.AddOptions<PostgresCoordinationOptions>().Bind(configuration).Configure(o => o.ConfigurationPath = path);
        return builder;
    }

    /// <summary>
    /// Keeps the heal journal, the lease and the rule state in the database of the data source
    /// <paramref name="dataSourceFactory"/> returns (not disposed by the store). Replaces the in-memory
    /// <see cref="IHealJournal"/>, <see cref="IHealLease"/> and <see cref="IRuleStateStore"/>.
    /// </summary>
    public static IReconciliationBuilder UsePostgresCoordination(this IReconciliationBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSourceFactory,
        Action<PostgresCoordinationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSourceFactory);
        return UsePostgresCoordinationCore(builder, o => o.ConnectionString = null, configure, (sp, _) => (dataSourceFactory(sp), false));
    }

    private static IReconciliationBuilder UsePostgresCoordinationCore(IReconciliationBuilder builder, Action<PostgresCoordinationOptions> source,
        Action<PostgresCoordinationOptions>? configure, Func<IServiceProvider, PostgresCoordinationOptions, (NpgsqlDataSource DataSource, bool Owned)> dataSource)
    {
        var services = builder.Services;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresCoordinationOptions>, PostgresCoordinationOptionsValidator>());
        var options = services.AddOptions<PostgresCoordinationOptions>().Configure(source);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        // A second call replaces the first (its options still add up: the last connection string wins).
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var value = sp.GetRequiredService<IOptions<PostgresCoordinationOptions>>().Value;
            var (source, owned) = dataSource(sp, value);
            return new PostgresCoordinationStore(source, owned, value, sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>()?.CreateLogger("Reconciliation.Postgres.Coordination"));
        }));
        services.Replace(ServiceDescriptor.Singleton(static sp => new PostgresHealJournal(sp.GetRequiredService<PostgresCoordinationStore>())));

        // The replica id is read when a lease is taken, not here: the lease is built while healers are, and the engine's
        // options are built from those (resolving them here would be a cycle).
        services.Replace(ServiceDescriptor.Singleton(static sp => new PostgresHealLease(sp.GetRequiredService<PostgresCoordinationStore>(),
            () => sp.GetRequiredService<IOptionsMonitor<ReconciliationOptions>>().CurrentValue.ReplicaId)));
        services.Replace(ServiceDescriptor.Singleton(static sp => new PostgresRuleStateStore(sp.GetRequiredService<PostgresCoordinationStore>())));
        services.Replace(ServiceDescriptor.Singleton<IHealJournal>(static sp => sp.GetRequiredService<PostgresHealJournal>()));
        services.Replace(ServiceDescriptor.Singleton<IHealLease>(static sp => sp.GetRequiredService<PostgresHealLease>()));
        services.Replace(ServiceDescriptor.Singleton<IRuleStateStore>(static sp => sp.GetRequiredService<PostgresRuleStateStore>()));
        services.Replace(ServiceDescriptor.Singleton(static sp => new PostgresControlStore(sp.GetRequiredService<PostgresCoordinationStore>())));
        services.Replace(ServiceDescriptor.Singleton<IControlStore>(static sp => sp.GetRequiredService<PostgresControlStore>()));
        return builder;
    }
}
