using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reconciliation.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a Redis server as a reconciled resource: its probe (<c>redis.*</c> signals) and its healers
/// (<c>redis.set-policy</c>, <c>redis.reconnect</c>, <c>redis.evict-prefix</c>). Each registration is one resource,
/// named <c>redis</c> unless a name is given; register several servers under different names.
/// </summary>
public static class RedisReconciliationBuilderExtensions
{
    /// <summary>Adds the Redis server behind <paramref name="connection"/> as the resource <c>redis</c>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, IConnectionMultiplexer connection,
        Action<RedisReconciliationOptions>? configure = null) =>
        builder.AddRedis(RedisReconciliationDefaults.ResourceName, connection, configure);

    /// <summary>Adds the Redis server behind <paramref name="connection"/> as the resource <paramref name="name"/>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, string name, IConnectionMultiplexer connection,
        Action<RedisReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return builder.AddRedisCore(name, _ => connection, null, configure);
    }

    /// <summary>Adds the Redis server behind <paramref name="connection"/> as the resource <c>redis</c>, options bound from <paramref name="configuration"/>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, IConnectionMultiplexer connection, IConfiguration configuration) =>
        builder.AddRedis(RedisReconciliationDefaults.ResourceName, connection, configuration);

    /// <summary>Adds the Redis server behind <paramref name="connection"/> as the resource <paramref name="name"/>, options bound from <paramref name="configuration"/>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, string name, IConnectionMultiplexer connection, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddRedisCore(name, _ => connection, configuration, null);
    }

    /// <summary>Adds the Redis server behind the application's <see cref="IConnectionMultiplexer"/> from DI as the resource <c>redis</c>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, Action<RedisReconciliationOptions>? configure = null) =>
        builder.AddRedis(RedisReconciliationDefaults.ResourceName, static sp => sp.GetRequiredService<IConnectionMultiplexer>(), configure);

    /// <summary>Adds the Redis server behind the application's <see cref="IConnectionMultiplexer"/> from DI as the resource <c>redis</c>, options bound from <paramref name="configuration"/>.</summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddRedisCore(RedisReconciliationDefaults.ResourceName, static sp => sp.GetRequiredService<IConnectionMultiplexer>(), configuration, null);
    }

    /// <summary>
    /// Adds the Redis server behind the connection <paramref name="connectionFactory"/> resolves (e.g. a keyed
    /// <see cref="IConnectionMultiplexer"/>) as the resource <paramref name="name"/>.
    /// </summary>
    public static IReconciliationBuilder AddRedis(this IReconciliationBuilder builder, string name, Func<IServiceProvider, IConnectionMultiplexer> connectionFactory,
        Action<RedisReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connectionFactory);
        return builder.AddRedisCore(name, connectionFactory, null, configure);
    }

    private static IReconciliationBuilder AddRedisCore(this IReconciliationBuilder builder, string name,
        Func<IServiceProvider, IConnectionMultiplexer> connectionFactory, IConfiguration? configuration, Action<RedisReconciliationOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;

        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(RedisRegistration) && descriptor.ImplementationInstance is RedisRegistration existing
                && string.Equals(existing.Name, name, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"A Redis resource named '{name}' is already registered. Give each server its own name: AddRedis(\"cache-2\", multiplexer, ...).");
            }
        }

        services.AddSingleton(new RedisRegistration(name));
        var path = configuration is IConfigurationSection section ? section.Path : "Redis:" + name;
        var options = services.AddOptions<RedisReconciliationOptions>(name).Configure(o => o.ConfigurationPath = path);
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisReconciliationOptions>, RedisReconciliationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddKeyedSingleton(name, (sp, _) => new RedisResource(
            name,
            connectionFactory(sp) ?? throw new InvalidOperationException($"The connection for Redis resource '{name}' resolved to null."),
            sp.GetRequiredService<IOptionsMonitor<RedisReconciliationOptions>>().Get(name),
            sp.GetRequiredService<TimeProvider>(),
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Reconciliation.Redis")));

        builder.AddProbe(sp => new RedisProbe(sp.GetRequiredKeyedService<RedisResource>(name)));
        builder.AddHealer(sp => new RedisSetPolicyHealer(sp.GetRequiredKeyedService<RedisResource>(name)));
        builder.AddHealer(sp => new RedisReconnectHealer(sp.GetRequiredKeyedService<RedisResource>(name)));
        builder.AddHealer(sp => new RedisEvictPrefixHealer(sp.GetRequiredKeyedService<RedisResource>(name)));
        return builder;
    }

    /// <summary>Marks a registered resource name, so registering the same name twice fails at once.</summary>
    private sealed record RedisRegistration(string Name);
}
