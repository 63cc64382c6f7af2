using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.BuiltIn;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace Reconciliation.Benchmarks.Support;

/// <summary>Builds the engine the way a host does (DI: AddStateReconciliation, AddProbe, AddRule), then resolves the internal engine.</summary>
internal static class EngineFactory
{
    public const double Limit = 0.9;
    public const double Clear = 0.7;

    /// <summary>
    /// Registers <paramref name="probes"/> and one rule per name in <paramref name="signals"/> (<c>Above</c>
    /// <see cref="Limit"/>, <c>Clear</c> <see cref="Clear"/>, on every resource that emits the signal).
    /// </summary>
    public static ServiceProvider Build(
        IReadOnlyList<IProbe> probes,
        IReadOnlyList<string> signals,
        TimeProvider? time = null,
        Action<IReconciliationBuilder>? configure = null,
        Action<RuleOptions>? rule = null)
    {
        var services = new ServiceCollection();
        AddHostBasics(services);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var builder = services.AddStateReconciliation(o =>
        {
            o.WarmUp = TimeSpan.Zero;
            o.Interval = TimeSpan.FromSeconds(10);
        });

        RemoveProcessProbe(services);
        foreach (var probe in probes)
        {
            builder.AddProbe(_ => probe);
        }

        for (var i = 0; i < signals.Count; i++)
        {
            var signal = signals[i];
            builder.AddRule("rule-" + i.ToString(CultureInfo.InvariantCulture), r =>
            {
                r.Signal = signal;
                r.Above = Limit;
                r.Clear = Clear;
                rule?.Invoke(r);
            });
        }

        configure?.Invoke(builder);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>
    /// Takes out the built-in process probe that AddStateReconciliation registers: it reads /proc and the GC, real work that
    /// would blur the figure being measured. Other probes (an adapter's) stay.
    /// </summary>
    public static void RemoveProcessProbe(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IProbe) && services[i].ImplementationType == typeof(ProcessProbe))
            {
                services.RemoveAt(i);
            }
        }
    }

    /// <summary>Registers what a host provides and the benchmarks need: logging (no providers) and the host lifetime the app.restart healer asks for.</summary>
    public static void AddHostBasics(IServiceCollection services)
    {
        services.AddLogging();
        services.AddSingleton<IHostApplicationLifetime, ApplicationLifetime>();
    }

    /// <summary>The engine's probe whose type is named <paramref name="typeName"/> (adapter probe types are internal).</summary>
    public static IProbe ProbeNamed(ReconciliationEngine engine, string typeName)
    {
        foreach (var slot in engine.Table.Probes)
        {
            if (string.Equals(slot.TypeName, typeName, StringComparison.Ordinal))
            {
                return slot.Probe;
            }
        }

        throw new InvalidOperationException(
            $"No registered probe is a {typeName}; registered: {string.Join(", ", engine.Table.Probes.Select(p => p.TypeName))}.");
    }

    public static ReconciliationEngine Engine(this ServiceProvider provider) => provider.GetRequiredService<ReconciliationEngine>();

    /// <summary>The writer the engine hands to <paramref name="probe"/> each tick (a window onto its preallocated storage).</summary>
    public static SignalWriter WriterOf(ReconciliationEngine engine, IProbe probe) => SlotOf(engine, probe).Writer;

    public static ProbeSlot SlotOf(ReconciliationEngine engine, IProbe probe)
    {
        foreach (var slot in engine.Table.Probes)
        {
            if (ReferenceEquals(slot.Probe, probe))
            {
                return slot;
            }
        }

        throw new InvalidOperationException("The probe is not registered with the engine.");
    }
}
