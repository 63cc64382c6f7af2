using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reconciliation;
using Reconciliation.BuiltIn;
using Reconciliation.Status;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the reconciler: <c>services.AddStateReconciliation(configuration.GetSection("Reconciliation"))</c>.</summary>
public static class ReconciliationServiceCollectionExtensions
{
    /// <summary>Adds the reconciler with options bound from <paramref name="configuration"/> (the <c>Reconciliation</c> section), reloaded live.</summary>
    public static IReconciliationBuilder AddStateReconciliation(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddStateReconciliation();
        var path = configuration is IConfigurationSection section ? section.Path : ReconciliationOptions.SectionName;
        services.AddOptions<ReconciliationOptions>().Configure(o =>
        {
            o.ConfigurationPath = path;
            ReconciliationConfigurationBinder.Bind(configuration, o);
        });
        services.AddSingleton<IOptionsChangeTokenSource<ReconciliationOptions>>(
            new ConfigurationChangeTokenSource<ReconciliationOptions>(Microsoft.Extensions.Options.Options.DefaultName, configuration));
        return builder;
    }

    /// <summary>Adds the reconciler configured in code.</summary>
    public static IReconciliationBuilder AddStateReconciliation(this IServiceCollection services, Action<ReconciliationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddStateReconciliation();
        services.Configure(configure);
        return builder;
    }

    /// <summary>Adds the reconciler with default options; configure it with the builder or <c>services.Configure&lt;ReconciliationOptions&gt;</c>.</summary>
    public static IReconciliationBuilder AddStateReconciliation(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ReconciliationOptions>().ValidateOnStart();
        services.TryAddSingleton<ReconciliationOptionsValidator>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReconciliationOptions>, ReconciliationOptionsValidator>(
            static sp => sp.GetRequiredService<ReconciliationOptionsValidator>()));
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ReconciliationMetrics>();
        services.TryAddSingleton(static _ => new ReconciliationEvents());
        services.TryAddSingleton<ReconciliationDiagnostics>();
        services.TryAddSingleton<IHealJournal, InMemoryHealJournal>();
        services.TryAddSingleton<IHealLease, InMemoryHealLease>();
        services.TryAddSingleton<IRuleStateStore, ProcessRuleStateStore>();
        services.TryAddSingleton(static sp => new CatchingUpHealJournal(sp.GetRequiredService<IHealJournal>(), sp.GetRequiredService<ReconciliationDiagnostics>()));
        services.TryAddSingleton<IControlStore, ProcessControlStore>();
        services.TryAddSingleton<ReconciliationControl>();
        services.TryAddSingleton<IReconciliationControl>(static sp => sp.GetRequiredService<ReconciliationControl>());
        services.TryAddSingleton<ReconciliationEngine>();
        services.TryAddSingleton<IReconciler>(static sp => sp.GetRequiredService<ReconciliationEngine>());
        services.TryAddSingleton<IReconciliationState>(static sp => sp.GetRequiredService<ReconciliationEngine>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReconciliationLoop>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReconciliationHeartbeat>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReconciliationOptions>, HeartbeatOptionsValidator>());
        services.TryAddSingleton(static sp => new ReconciliationStatusProvider(sp.GetRequiredService<IReconciliationState>(), sp.GetRequiredService<CatchingUpHealJournal>(),
            sp.GetService<IReconciliationControl>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProbe, ProcessProbe>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealer, AppRestartHealer>(
            static sp => AppRestartHealer.Create(sp.GetService<IHostApplicationLifetime>(), () => (sp.GetRequiredService<CatchingUpHealJournal>(),
                sp.GetRequiredService<IHealLease>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptionsMonitor<ReconciliationOptions>>().CurrentValue))));
        return new ReconciliationBuilder(services);
    }
}
