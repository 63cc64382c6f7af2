using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reconciliation;
using Reconciliation.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Fleet coordination on Redis: replaces the in-memory heal journal, heal lease and rule state with
/// <see cref="RedisHealJournal"/>, <see cref="RedisHealLease"/> and <see cref="RedisRuleStateStore"/>, so that replicas
/// sharing one Redis heal a shared resource one at a time, count attempts and budgets across the fleet, and resume their
/// open violations after a restart.
/// </summary>
public static class RedisCoordinationBuilderExtensions
{
    /// <summary>
    /// Coordinates through the Redis named by <paramref name="configuration"/> (a StackExchange.Redis configuration
    /// string, e.g. <c>redis:6379,password=...</c>): the store opens its own connection (client name
    /// <c>reconciliation-coordination</c>) on first use and closes it with the container. The string is validated at
    /// start and never shown (it may hold a password).
    /// </summary>
    public static IReconciliationBuilder UseRedisCoordination(this IReconciliationBuilder builder, string configuration,
        Action<RedisCoordinationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.Configure<RedisCoordinationOptions>(o => o.Configuration = configuration);
        return builder.UseRedisCoordinationCore(static sp => RedisCoordinationStore.Connecting(sp.GetRequiredService<IOptions<RedisCoordinationOptions>>().Value,
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Reconciliation.Redis.Coordination")), configure);
    }

    /// <summary>
    /// Coordinates through the connection <paramref name="connectionFactory"/> resolves (e.g. the application's
    /// <see cref="IConnectionMultiplexer"/> from DI); the host owns and disposes that connection.
    /// </summary>
    public static IReconciliationBuilder UseRedisCoordination(this IReconciliationBuilder builder, Func<IServiceProvider, IConnectionMultiplexer> connectionFactory,
        Action<RedisCoordinationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connectionFactory);
        builder.Services.Configure<RedisCoordinationOptions>(o => o.Configuration = null);
        return builder.UseRedisCoordinationCore(
            sp => RedisCoordinationStore.ForConnection(() => connectionFactory(sp), sp.GetRequiredService<IOptions<RedisCoordinationOptions>>().Value),
            configure);
    }

    private static IReconciliationBuilder UseRedisCoordinationCore(this IReconciliationBuilder builder, Func<IServiceProvider, RedisCoordinationStore> store,
        Action<RedisCoordinationOptions>? configure)
    {
        var services = builder.Services;
        var options = services.AddOptions<RedisCoordinationOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisCoordinationOptions>, RedisCoordinationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // A second call replaces the first one's connection.
        services.Replace(ServiceDescriptor.Singleton(store));
        services.TryAddSingleton(static sp => new RedisHealJournal(sp.GetRequiredService<RedisCoordinationStore>()));
        services.TryAddSingleton(static sp => new RedisRuleStateStore(sp.GetRequiredService<RedisCoordinationStore>()));

        // The replica id is read when a lease is taken, not here: resolving the options while the engine's services are
        // being built would go round in a circle.
        services.TryAddSingleton(static sp => new RedisHealLease(sp.GetRequiredService<RedisCoordinationStore>(),
            () => sp.GetRequiredService<IOptionsMonitor<ReconciliationOptions>>().CurrentValue.ReplicaId, sp.GetRequiredService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<IHealJournal>(static sp => sp.GetRequiredService<RedisHealJournal>()));
        services.Replace(ServiceDescriptor.Singleton<IHealLease>(static sp => sp.GetRequiredService<RedisHealLease>()));
        services.Replace(ServiceDescriptor.Singleton<IRuleStateStore>(static sp => sp.GetRequiredService<RedisRuleStateStore>()));
        services.TryAddSingleton(static sp => new RedisControlStore(sp.GetRequiredService<RedisCoordinationStore>()));
        services.Replace(ServiceDescriptor.Singleton<IControlStore>(static sp => sp.GetRequiredService<RedisControlStore>()));
        return builder;
    }
}
