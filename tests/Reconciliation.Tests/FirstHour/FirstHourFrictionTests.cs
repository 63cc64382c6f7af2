using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Reconciliation.Tests.Policies;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.FirstHour;

/// <summary>Friction a new user met in the first hour (issue 20), each pinned so it cannot come back.</summary>
public sealed class FirstHourFrictionTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task A_violation_whose_only_healer_is_not_opted_in_says_no_healer_could_act_not_that_attempts_are_used_up()
    {
        var probe = new TestProbe("db", Signal);
        var destructive = new TestHealer("nuke") { IsDestructive = true };
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe).AddHealer(_ => destructive)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("nuke"); }));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await harness.TickAsync();
        var report = await harness.NextTickAsync();
        report = await harness.NextTickAsync();

        Assert.Equal(0, destructive.Calls);
        var violation = Assert.Single(report.Violations);
        Assert.Equal((ViolationState.Exhausted, 0), (violation.State, violation.Attempts));
        Assert.DoesNotContain("used up", violation.HeldBack ?? string.Empty, StringComparison.Ordinal);

        // The log line, the event and the report say the same true thing: nothing was tried.
        var log = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ViolationExhausted");
        Assert.Contains("no healer could act", log.Message, StringComparison.Ordinal);
        Assert.Contains("0 attempts were made", log.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("used up", log.Message, StringComparison.Ordinal);
        var exhausted = Assert.Single(HealPolicyTests.Drain(events), e => e.Kind == ReconciliationEventKind.ViolationExhausted);
        Assert.Contains("no healer could act", exhausted.Reason, StringComparison.Ordinal);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "HealSkipped" && r.Message.Contains("not opted in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dry_run_plans_are_not_counted_as_heals_but_in_their_own_counter()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix");
        await using var harness = EngineHarness.Create(o => o.DryRun = true, b => b.AddProbe(_ => probe).AddHealer(_ => healer)
            .ConfigureHealer("fix", p => p.Cooldown = TimeSpan.FromSeconds(10))
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add("fix"); }));
        var meters = harness.Provider.GetRequiredService<IMeterFactory>();
        using var heals = new MetricCollector<long>(meters, ReconciliationTelemetry.MeterName, "reconciliation.heals");
        using var plans = new MetricCollector<long>(meters, ReconciliationTelemetry.MeterName, "reconciliation.heal.plans");
        probe.Set(0.9);

        await harness.TickAsync();
        var planned = 0;
        for (var i = 0; i < 3; i++)
        {
            planned += (await harness.NextTickAsync()).Heals.Count(h => h.Outcome.Kind == HealOutcomeKind.DryRun);
        }

        Assert.Equal(0, healer.Calls);
        Assert.True(planned >= 2, $"{planned} plans");
        Assert.Empty(heals.GetMeasurementSnapshot()); // "a plan is not an attempt"
        Assert.Equal(planned, plans.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(plans.GetMeasurementSnapshot(), m => Assert.Equal("fix", m.Tags["healer"]));
        Assert.Equal("{plan}", plans.Instrument!.Unit);
    }
}
