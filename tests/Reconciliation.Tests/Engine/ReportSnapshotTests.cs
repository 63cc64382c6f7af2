using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>A report's readings are a snapshot: later ticks never change them, and an unchanged tick shares the last one.</summary>
public sealed class ReportSnapshotTests
{
    [Fact]
    public async Task A_report_keeps_its_readings_after_later_ticks_and_an_unchanged_tick_shares_them()
    {
        var probe = new TestProbe("db", "a", "b");
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));
        probe.Set("a", 0.1);
        probe.Set("b", double.NaN);

        var first = await harness.TickAsync();
        probe.Set("a", 0.2);
        var second = await harness.NextTickAsync();

        Assert.Equal(0.1, first.ValueOf("a", "db"));
        Assert.Null(first.ValueOf("b", "db"));
        Assert.Equal(0.2, second.ValueOf("a", "db"));
        Assert.NotSame(first.Signals, second.Signals);
        Assert.Equal(first.Signals.Count, first.Signals.ToList().Count);
        Assert.Equal(new SignalReading("a", "db", SignalUnits.Ratio, 0.1), first.Signals.Single(s => s.Signal == "a"));

    }

    [Fact]
    public async Task A_tick_whose_readings_did_not_change_shares_the_previous_snapshot()
    {
        var probe = new TestProbe("db", "a");
        probe.Set(0.5);
        await using var harness = EngineHarness.Create((IServiceCollection services) =>
        {
            services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero).AddProbe(_ => probe);
            // The process probe's readings move on every tick; without it nothing changes between ticks.
            services.Remove(services.Single(d => d.ServiceType == typeof(IProbe) && d.ImplementationType == typeof(global::Reconciliation.BuiltIn.ProcessProbe)));
        });

        var first = await harness.TickAsync();
        var second = await harness.NextTickAsync();
        probe.Set(0.6);
        var third = await harness.NextTickAsync();

        Assert.Same(first.Signals, second.Signals);
        Assert.NotSame(second.Signals, third.Signals);
        Assert.Equal(0.5, second.ValueOf("a", "db"));
        Assert.Equal(0.6, third.ValueOf("a", "db"));
    }
}
