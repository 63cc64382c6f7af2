using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reconciliation.PgBouncer;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds PgBouncer probes, healers and the migration gate for one pooler. Each declared pooler database is a resource
/// <c>&lt;name&gt;/&lt;database&gt;</c>; the probes of one pooler share one admin-console round trip per tick.
/// </summary>
public static class PgBouncerReconciliationBuilderExtensions
{
    /// <summary>
    /// Watches the pooler whose admin console <paramref name="adminConnectionString"/> reaches, under the name
    /// <paramref name="name"/>. Declare the databases this app uses in <paramref name="configure"/>
    /// (<c>o =&gt; o.Databases.Add("orders")</c>).
    /// </summary>
    public static IReconciliationBuilder AddPgBouncer(this IReconciliationBuilder builder, string name, string adminConnectionString,
        Action<PgBouncerReconciliationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(adminConnectionString);
        var trial = new PgBouncerReconciliationOptions();
        configure?.Invoke(trial);
        return AddPgBouncerCore(builder, name, [.. trial.Databases], configuration: null, o =>
        {
            o.AdminConnectionString = adminConnectionString;
            configure?.Invoke(o);
        });
    }

    /// <summary>
    /// Watches a pooler with options bound from <paramref name="configuration"/> (e.g. <c>Reconciliation:PgBouncer:pooler</c>
    /// with <c>AdminConnectionString</c> and <c>Databases</c>).
    /// </summary>
    public static IReconciliationBuilder AddPgBouncer(this IReconciliationBuilder builder, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var trial = new PgBouncerReconciliationOptions();
        configuration.Bind(trial);
        return AddPgBouncerCore(builder, name, [.. trial.Databases], configuration, configure: null);
    }

    private static IReconciliationBuilder AddPgBouncerCore(IReconciliationBuilder builder, string name, string[] databases,
        IConfiguration? configuration, Action<PgBouncerReconciliationOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService && descriptor.ServiceType == typeof(PgBouncerResource) && Equals(descriptor.ServiceKey, name))
            {
                throw new InvalidOperationException($"AddPgBouncer: the pooler '{name}' is already registered. Give each pooler its own name.");
            }
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgBouncerReconciliationOptions>, PgBouncerReconciliationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<PgBouncerReconciliationOptions>(name);
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();

        services.AddKeyedSingleton(name, (sp, _) => new PgBouncerResource(
            name,
            sp.GetRequiredService<IOptionsMonitor<PgBouncerReconciliationOptions>>().Get(name),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Reconciliation.PgBouncer")));

        // One probe per database declared at registration: each is its own resource, all share the pooler's round trip.
        for (var i = 0; i < databases.Length; i++)
        {
            var index = i;
            builder.AddProbe(sp => new PgBouncerProbe(Declared(sp, name, databases), index));
        }

        builder.AddHealer(sp => new PgBouncerReconnectHealer(sp.GetRequiredKeyedService<PgBouncerResource>(name)));
        builder.AddHealer(sp => new PgBouncerKillDatabaseHealer(sp.GetRequiredKeyedService<PgBouncerResource>(name)));
        builder.AddHealer(sp => new PgBouncerResumeHealer(sp.GetRequiredKeyedService<PgBouncerResource>(name)));

        services.AddKeyedSingleton(name, (sp, _) => new PgBouncerMigrationGate(sp.GetRequiredKeyedService<PgBouncerResource>(name), ownsResource: false));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<PgBouncerMigrationGate>(name));
        return builder;
    }

    private static PgBouncerResource Declared(IServiceProvider services, string name, string[] databases)
    {
        var pooler = services.GetRequiredKeyedService<PgBouncerResource>(name);
        if (!pooler.Databases.SequenceEqual(databases, StringComparer.Ordinal))
        {
            // Probes are created per database known at registration; options changed afterwards would leave one unwatched.
            throw new OptionsValidationException(name, typeof(PgBouncerReconciliationOptions),
                [$"{PgBouncerReconciliationOptionsValidator.SectionPrefix}:{name}:Databases differs from the databases known when AddPgBouncer was called ({string.Join(", ", databases)}); declare them in AddPgBouncer's configure or configuration section."]);
        }

        return pooler;
    }
}
