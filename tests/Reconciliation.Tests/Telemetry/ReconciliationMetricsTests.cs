using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Telemetry;

/// <summary>The instruments of the <c>Reconciliation</c> meter, read with MetricCollector.</summary>
public sealed class ReconciliationMetricsTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task Heals_are_counted_by_healer_and_outcome()
    {
        var probe = new TestProbe("db", Signal);
        var failing = new TestHealer("failing") { Outcome = _ => HealOutcome.Failed("no luck") };
        var destructive = new TestHealer("nuke") { IsDestructive = true };
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe).AddHealer(_ => failing).AddHealer(_ => destructive)
            .ConfigureHealer("failing", p => { p.MaxAttempts = 1; p.Cooldown = TimeSpan.FromSeconds(10); })
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("failing"); r.Heal.Add("nuke"); }));
        using var heals = Collector<long>(harness, "reconciliation.heals");
        probe.Set(0.9);

        await harness.TickAsync();
        await harness.NextTickAsync(); // failing: failed
        await harness.NextTickAsync(); // nuke: skipped (not opted in); then exhausted

        Assert.Equal(
            ["failing/failed", "nuke/skipped"],
            heals.GetMeasurementSnapshot().Select(m => $"{m.Tags["healer"]}/{m.Tags["outcome"]}"));
        Assert.All(heals.GetMeasurementSnapshot(), m => Assert.Equal(1, m.Value));
    }

    [Fact]
    public async Task Probe_failures_tick_durations_and_probe_durations_are_recorded()
    {
        var bad = new TestProbe("bad", Signal) { Throw = new InvalidOperationException("boom") };
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => bad));
        using var failures = Collector<long>(harness, "reconciliation.probe.failures");
        using var ticks = Collector<double>(harness, "reconciliation.tick.duration");
        using var probes = Collector<double>(harness, "reconciliation.probe.duration");

        await harness.TickAsync();
        await harness.NextTickAsync();

        Assert.Equal(2, failures.GetMeasurementSnapshot().Count);
        var failure = failures.GetMeasurementSnapshot()[0];
        Assert.Equal(("bad", nameof(TestProbe)), ((string?)failure.Tags["resource"], (string?)failure.Tags["probe"]));
        Assert.Equal(2, ticks.GetMeasurementSnapshot().Count);
        Assert.Equal("s", ticks.Instrument!.Unit);
        Assert.Contains(probes.GetMeasurementSnapshot(), m => (string?)m.Tags["resource"] == "bad");
    }

    [Fact]
    public async Task Signal_values_and_open_violations_are_observable_instruments()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Severity = RuleSeverity.Unhealthy; }));
        using var signals = Collector<double>(harness, "reconciliation.signal.value");
        using var open = Collector<long>(harness, "reconciliation.violations.open");
        probe.Set(0.9);
        await harness.TickAsync();

        signals.RecordObservableInstruments();
        open.RecordObservableInstruments();

        var value = Assert.Single(signals.GetMeasurementSnapshot(), m => (string?)m.Tags["signal"] == Signal);
        Assert.Equal((0.9, "db"), (value.Value, (string?)value.Tags["resource"]));
        var violation = Assert.Single(open.GetMeasurementSnapshot());
        Assert.Equal((1L, "r", "Unhealthy"), (violation.Value, (string?)violation.Tags["rule"], (string?)violation.Tags["severity"]));

        probe.Set(double.NaN); // no reading: not reported as a value
        await harness.NextTickAsync();
        signals.Clear();
        signals.RecordObservableInstruments();
        Assert.DoesNotContain(signals.GetMeasurementSnapshot(), m => (string?)m.Tags["signal"] == Signal);
    }

    [Fact]
    public async Task Healing_paused_is_1_while_the_heal_budget_has_paused_healing_and_0_otherwise()
    {
        var probes = new[] { new TestProbe("a", Signal), new TestProbe("b", Signal) };
        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = EngineHarness.Create(o =>
        {
            o.HealBudget.MaxHeals = 1;
            o.HealBudget.Window = TimeSpan.FromMinutes(10);
            o.HealBudget.Pause = TimeSpan.FromMinutes(5);
        }, b =>
        {
            foreach (var probe in probes)
            {
                b.AddProbe(_ => probe);
            }

            b.AddHealer(_ => healer).AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); });
        });
        using var paused = Collector<int>(harness, "reconciliation.healing.paused");

        await harness.TickAsync();
        Assert.Equal(0, Read(paused));
        foreach (var probe in probes)
        {
            probe.Set(0.9);
        }

        await harness.NextTickAsync();
        var report = await harness.NextTickAsync(); // two heals due, the budget allows one: paused

        Assert.NotNull(report.HealingPausedUntil);
        Assert.Equal(1, Read(paused));
        harness.Time.Advance(report.HealingPausedUntil!.Value - harness.Time.GetUtcNow());
        Assert.Equal(0, Read(paused)); // the pause has run out, whether or not a heal was due since
    }

    private static int Read(MetricCollector<int> collector)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot()).Value;
    }

    private static MetricCollector<T> Collector<T>(EngineHarness harness, string instrument)
        where T : struct =>
        new(harness.Provider.GetRequiredService<IMeterFactory>(), ReconciliationTelemetry.MeterName, instrument);
}
