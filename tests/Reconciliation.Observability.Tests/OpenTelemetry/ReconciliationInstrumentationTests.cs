using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Reconciliation;

namespace Reconciliation.Observability.Tests.OpenTelemetry;

/// <summary>
/// <c>AddReconciliationInstrumentation()</c> on the OpenTelemetry SDK's own builders, exported in memory: every instrument
/// arrives with its unit, the durations with buckets in seconds, and a heal as a span linked to the tick that chose it.
/// </summary>
public sealed class ReconciliationInstrumentationTests
{
    [Fact]
    public async Task The_meter_provider_collects_every_reconciliation_instrument_with_its_unit()
    {
        var exported = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddReconciliationInstrumentation().AddInMemoryExporter(exported).Build();
        await using var services = Build(dryRunHealer: "plan-only", out var probe);
        probe.Value = 0.9;

        var reconciler = services.GetRequiredService<IReconciler>();
        var time = services.GetRequiredService<FakeTimeProvider>();
        await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        }

        Assert.True(meters.ForceFlush());
        var units = exported.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.First().Unit);
        Assert.Equal("{heal}", units["reconciliation.heals"]);
        Assert.Equal("{plan}", units["reconciliation.heal.plans"]);
        Assert.Equal("{violation}", units["reconciliation.violations.open"]);
        Assert.Equal("{failure}", units["reconciliation.probe.failures"]);
        Assert.Equal("s", units["reconciliation.tick.duration"]);
        Assert.Equal("s", units["reconciliation.probe.duration"]);
        Assert.Contains("reconciliation.signal.value", units.Keys);
        Assert.Contains("reconciliation.healing.paused", units.Keys);

        var tick = exported.First(m => m.Name == "reconciliation.tick.duration");
        foreach (ref readonly var point in tick.GetMetricPoints())
        {
            var bounds = new List<double>();
            foreach (var bucket in point.GetHistogramBuckets())
            {
                bounds.Add(bucket.ExplicitBound);
            }

            Assert.Equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, double.PositiveInfinity], bounds);
        }
    }

    [Fact]
    public async Task The_tracer_provider_exports_ticks_and_a_heal_span_linked_to_the_tick_that_chose_it()
    {
        var spans = new List<Activity>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddReconciliationInstrumentation().AddInMemoryExporter(spans).Build();
        await using var services = Build(dryRunHealer: null, out var probe);
        probe.Value = 0.9;

        var reconciler = services.GetRequiredService<IReconciler>();
        var time = services.GetRequiredService<FakeTimeProvider>();
        await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(10));
        var chooser = await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        Assert.Single(chooser.Heals);

        Assert.True(tracer.ForceFlush());
        var heal = Assert.Single(spans, s => s.OperationName == "reconciliation.heal" && (string?)s.GetTagItem("reconciliation.healer") == "fix");
        var tick = Assert.Single(spans, s => s.OperationName == "reconciliation.tick" && s.GetTagItem("reconciliation.tick") is long t && t == chooser.Tick);
        Assert.Equal(default, heal.ParentSpanId);
        var link = Assert.Single(heal.Links);
        Assert.Equal((tick.TraceId, tick.SpanId), (link.Context.TraceId, link.Context.SpanId));
        Assert.Equal("orders-db", heal.GetTagItem("reconciliation.resource"));
    }

    private static ServiceProvider Build(string? dryRunHealer, out SettableProbe probe)
    {
        var settable = probe = new SettableProbe();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        services.AddSingleton(time);
        services.AddSingleton<TimeProvider>(time);
        var builder = services.AddStateReconciliation(o =>
        {
            o.Interval = TimeSpan.FromSeconds(10);
            o.WarmUp = TimeSpan.Zero;
        })
            .AddProbe(_ => settable)
            .AddHealer(_ => new FixingHealer("fix", settable))
            .AddRule("saturation", r => { r.Signal = SettableProbe.Signal; r.Resource = "orders-db"; r.Above = 0.8; r.Heal.Add("fix"); });
        if (dryRunHealer is not null)
        {
            // Another resource, always over: its healer only plans (dry run), never acts.
            var cache = new SettableProbe("cache") { Value = 0.9 };
            builder.AddProbe(_ => cache)
                .AddProbe(_ => new FailingProbe())
                .AddHealer(_ => new FixingHealer(dryRunHealer, cache))
                .ConfigureHealer(dryRunHealer, p => p.DryRun = true)
                .AddRule("planned", r => { r.Signal = SettableProbe.Signal; r.Resource = "cache"; r.Above = 0.8; r.Heal.Add(dryRunHealer); });
        }

        return services.BuildServiceProvider();
    }

    private sealed class SettableProbe(string resource = "orders-db") : IProbe
    {
        public const string Signal = "test.usage";

        public double Value { get; set; }

        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(Signal, SignalUnits.Ratio, "A test reading.")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            writer.Write(0, Value);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FailingProbe : IProbe
    {
        public string Resource => "queue";

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new("test.depth", SignalUnits.Count, "A reading that never comes.")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the queue is unreachable");
    }

    private sealed class FixingHealer(string name, SettableProbe probe) : IHealer
    {
        public string Name => name;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.Process;

        public bool AppliesTo(string resource) => resource == probe.Resource;

        public string DescribePlan(HealContext context) => "set the reading back";

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
        {
            probe.Value = 0.1;
            return ValueTask.FromResult(HealOutcome.Healed("set back"));
        }
    }
}
