using Microsoft.Extensions.DependencyInjection.Extensions;
using Reconciliation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Code-first registration of probes, healers, rules and policies; merges with configuration.</summary>
public static class ReconciliationBuilderExtensions
{
    /// <summary>Adds a probe resolved from DI (a singleton).</summary>
    public static IReconciliationBuilder AddProbe<TProbe>(this IReconciliationBuilder builder)
        where TProbe : class, IProbe
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProbe, TProbe>());
        return builder;
    }

    /// <summary>Adds a probe built by <paramref name="factory"/> (adapters use this to bind a probe to one resource).</summary>
    public static IReconciliationBuilder AddProbe(this IReconciliationBuilder builder, Func<IServiceProvider, IProbe> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Adds a healer resolved from DI (a singleton). Rules name it in <c>Heal</c>.</summary>
    public static IReconciliationBuilder AddHealer<THealer>(this IReconciliationBuilder builder)
        where THealer : class, IHealer
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealer, THealer>());
        return builder;
    }

    /// <summary>Adds a healer built by <paramref name="factory"/> (adapters use this to bind a healer to one resource).</summary>
    public static IReconciliationBuilder AddHealer(this IReconciliationBuilder builder, Func<IServiceProvider, IHealer> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Adds (or amends) a rule in code; configuration under <c>Reconciliation:Rules:&lt;name&gt;</c> is applied first.</summary>
    public static IReconciliationBuilder AddRule(this IReconciliationBuilder builder, string name, Action<RuleOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure<ReconciliationOptions>(o =>
        {
            if (!o.Rules.TryGetValue(name, out var rule))
            {
                rule = new RuleOptions();
                o.Rules[name] = rule;
            }

            configure(rule);
        });
        return builder;
    }

    /// <summary>Sets (or amends) the heal policy of a healer in code.</summary>
    public static IReconciliationBuilder ConfigureHealer(this IReconciliationBuilder builder, string healer, Action<HealPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(healer);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure<ReconciliationOptions>(o =>
        {
            if (!o.Healers.TryGetValue(healer, out var policy))
            {
                policy = new HealPolicyOptions();
                o.Healers[healer] = policy;
            }

            configure(policy);
        });
        return builder;
    }

    /// <summary>Opts in to a destructive healer by name (same as listing it in <c>AllowDestructive</c>).</summary>
    public static IReconciliationBuilder AllowDestructive(this IReconciliationBuilder builder, string healer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(healer);
        builder.Services.Configure<ReconciliationOptions>(o =>
        {
            if (!o.AllowDestructive.Contains(healer))
            {
                o.AllowDestructive.Add(healer);
            }
        });
        return builder;
    }

    /// <summary>Replaces the in-memory heal journal (e.g. with a durable, multi-replica one).</summary>
    public static IReconciliationBuilder UseHealJournal<TJournal>(this IReconciliationBuilder builder)
        where TJournal : class, IHealJournal
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IHealJournal, TJournal>());
        return builder;
    }

    /// <summary>Replaces the in-memory heal lease (e.g. with an advisory-lock or Redis lease shared by replicas).</summary>
    public static IReconciliationBuilder UseHealLease<TLease>(this IReconciliationBuilder builder)
        where TLease : class, IHealLease
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IHealLease, TLease>());
        return builder;
    }

    /// <summary>Keeps each replica's rule state (open violations, heal progress, <c>For</c> timers) in a store, so a restart resumes it.</summary>
    public static IReconciliationBuilder UseRuleStateStore<TStore>(this IReconciliationBuilder builder)
        where TStore : class, IRuleStateStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IRuleStateStore, TStore>());
        return builder;
    }
}
