using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Reconciliation.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds PostgreSQL probes, healers and the migration gate for an <see cref="NpgsqlDataSource"/>. Each call is one resource:
/// its probes write signals under the resource name and its healers act only on that resource.
/// </summary>
public static class PostgresReconciliationBuilderExtensions
{
    /// <summary>
    /// Watches <paramref name="dataSource"/> (the app's own pool) under the resource <c>postgres</c>, or
    /// <see cref="PostgresReconciliationOptions.Resource"/> when <paramref name="configure"/> sets it.
    /// </summary>
    public static IReconciliationBuilder AddPostgres(this IReconciliationBuilder builder, NpgsqlDataSource dataSource,
        Action<PostgresReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);

        // The resource name keys the registration, so it is needed now: read it from a trial run of configure.
        var trial = new PostgresReconciliationOptions();
        configure?.Invoke(trial);
        return AddPostgresCore(builder, trial.Resource, _ => dataSource, configuration: null, configure);
    }

    /// <summary>Watches <paramref name="dataSource"/> under the resource <paramref name="resource"/> (one call per database).</summary>
    public static IReconciliationBuilder AddPostgres(this IReconciliationBuilder builder, string resource, NpgsqlDataSource dataSource,
        Action<PostgresReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        return AddPostgresCore(builder, resource, _ => dataSource, configuration: null, configure);
    }

    /// <summary>
    /// Watches the app's <see cref="NpgsqlDataSource"/> from DI (the pool the app really uses): the one
    /// <paramref name="dataSourceFactory"/> returns, or the registered <see cref="NpgsqlDataSource"/> singleton.
    /// </summary>
    public static IReconciliationBuilder AddPostgres(this IReconciliationBuilder builder, string resource = PostgresReconciliationOptions.DefaultResource,
        Func<IServiceProvider, NpgsqlDataSource>? dataSourceFactory = null, Action<PostgresReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return AddPostgresCore(builder, resource, dataSourceFactory ?? FromServices, configuration: null, configure);
    }

    /// <summary>
    /// Watches the app's <see cref="NpgsqlDataSource"/> from DI (or from <paramref name="dataSourceFactory"/>) with options bound
    /// from <paramref name="configuration"/> (e.g. <c>Reconciliation:Postgres:main-db</c>).
    /// </summary>
    public static IReconciliationBuilder AddPostgres(this IReconciliationBuilder builder, string resource, IConfiguration configuration,
        Func<IServiceProvider, NpgsqlDataSource>? dataSourceFactory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        return AddPostgresCore(builder, resource, dataSourceFactory ?? FromServices, configuration, configure: null);
    }

    private static NpgsqlDataSource FromServices(IServiceProvider services) => services.GetRequiredService<NpgsqlDataSource>();

    private static IReconciliationBuilder AddPostgresCore(IReconciliationBuilder builder, string resource,
        Func<IServiceProvider, NpgsqlDataSource> dataSourceFactory, IConfiguration? configuration, Action<PostgresReconciliationOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resource);
        var services = builder.Services;
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService && descriptor.ServiceType == typeof(PostgresResource) && Equals(descriptor.ServiceKey, resource))
            {
                throw new InvalidOperationException(
                    $"AddPostgres: the resource '{resource}' is already registered. Give each database its own resource name.");
            }
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresReconciliationOptions>, PostgresReconciliationOptionsValidator>());
        var options = services.AddOptions<PostgresReconciliationOptions>(resource).Configure(o => o.Resource = resource);
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();

        services.AddKeyedSingleton(resource, (sp, _) => new PostgresResource(
            dataSourceFactory(sp),
            sp.GetRequiredService<IOptionsMonitor<PostgresReconciliationOptions>>().Get(resource),
            sp.GetService<ILoggerFactory>()));

        builder.AddProbe(sp => new PostgresPoolProbe(sp.GetRequiredKeyedService<PostgresResource>(resource)));
        builder.AddProbe(sp => new PostgresServerProbe(sp.GetRequiredKeyedService<PostgresResource>(resource)));
        builder.AddHealer(sp => new PostgresClearPoolHealer(sp.GetRequiredKeyedService<PostgresResource>(resource)));
        builder.AddHealer(sp => new PostgresTerminateIdleInTransactionHealer(sp.GetRequiredKeyedService<PostgresResource>(resource)));

        // Runs where the rules are validated (at start, and again on a reload): warns, never fails.
        services.AddSingleton<IValidateOptions<Reconciliation.ReconciliationOptions>>(sp => new PostgresTerminateThresholdCheck(resource,
            sp.GetRequiredService<IOptionsMonitor<PostgresReconciliationOptions>>(), sp.GetService<ILoggerFactory>()));
        builder.AddHealer(sp => new PostgresCancelBlockersHealer(sp.GetRequiredKeyedService<PostgresResource>(resource)));

        services.AddKeyedSingleton(resource, (sp, _) => new PostgresMigrationGate(sp.GetRequiredKeyedService<PostgresResource>(resource), ownsResource: false));

        // The first registration also answers an unkeyed request for the gate (the common single-database app).
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<PostgresMigrationGate>(resource));
        return builder;
    }
}
