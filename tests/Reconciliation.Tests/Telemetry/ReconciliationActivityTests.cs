using System.Collections.Concurrent;
using System.Diagnostics;
using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Telemetry;

/// <summary>ActivitySource <c>Reconciliation</c>: a span per tick and per heal, a failed heal recorded as an error.</summary>
public sealed class ReconciliationActivityTests
{
    [Fact]
    public async Task A_tick_and_a_failed_heal_each_get_a_span_and_the_failure_is_an_error_status()
    {
        var healerName = "fix-" + Guid.NewGuid().ToString("N"); // spans are process-wide: find this test's own
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ReconciliationTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var probe = new TestProbe("db", "test.usage");
        var healer = new TestHealer(healerName) { Outcome = _ => HealOutcome.Failed("no luck") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add(healerName));
        probe.Set(0.9);

        await harness.TickAsync();
        var report = await harness.NextTickAsync();

        var heal = Assert.Single(spans, a => a.OperationName == "reconciliation.heal" && (string?)a.GetTagItem("reconciliation.healer") == healerName);
        Assert.Equal(ActivityStatusCode.Error, heal.Status);
        Assert.Equal("no luck", heal.StatusDescription);
        Assert.Equal("db", heal.GetTagItem("reconciliation.resource"));
        Assert.Contains(spans, a => a.OperationName == "reconciliation.tick" && a.GetTagItem("reconciliation.tick") is long t && t == report.Tick);
    }

    [Fact]
    public async Task A_heal_is_a_span_of_its_own_linked_to_the_tick_that_chose_it()
    {
        var healerName = "fix-" + Guid.NewGuid().ToString("N");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ReconciliationTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var probe = new TestProbe("db", "test.usage");
        var healer = new TestHealer(healerName);
        await using var harness = Build(probe, [healer], r => r.Heal.Add(healerName));
        probe.Set(0.9);

        await harness.TickAsync();
        var chooser = await harness.NextTickAsync();
        Assert.Single(chooser.Heals);

        var heal = Assert.Single(spans, a => a.OperationName == "reconciliation.heal" && (string?)a.GetTagItem("reconciliation.healer") == healerName);
        // Linked to the tick that chose it (found by the link: other tests' engines tick in parallel under the same source) ...
        var link = Assert.Single(heal.Links);
        var tick = Assert.Single(spans, a => a.TraceId == link.Context.TraceId && a.SpanId == link.Context.SpanId);
        Assert.Equal("reconciliation.tick", tick.OperationName);
        Assert.Equal(chooser.Tick, tick.GetTagItem("reconciliation.tick"));
        // ... but not its child (a heal outlives its tick).
        Assert.Equal(default, heal.ParentSpanId);
        Assert.NotEqual(tick.TraceId, heal.TraceId);
    }
}
