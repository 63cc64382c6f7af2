using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Events;

/// <summary>The event stream: ordered state changes; a slow subscriber never delays the loop.</summary>
public sealed class ReconciliationEventsTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task Subscribers_receive_open_heal_close_in_order_with_their_details()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { OnHeal = _ => probe.Set(0.2) };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        using var subscription = harness.Events.Subscribe();
        probe.Set(0.9);

        await harness.TickAsync();
        await harness.NextTickAsync();
        await harness.NextTickAsync();

        var events = Drain(subscription);
        Assert.Equal(
            [ReconciliationEventKind.ViolationOpened, ReconciliationEventKind.HealStarted, ReconciliationEventKind.HealSucceeded, ReconciliationEventKind.ViolationClosed],
            events.Select(e => e.Kind));
        Assert.All(events, e => Assert.Equal(("r", Signal, "db"), (e.Rule, e.Signal, e.Resource)));
        Assert.Equal((At(0), 0.9), (events[0].Timestamp, events[0].Observed));
        Assert.Equal((At(10), "fix", 1), (events[1].Timestamp, events[1].Healer, events[1].Attempt));
        Assert.Equal((At(20), "fix"), (events[2].Timestamp, events[2].Healer));
        Assert.Equal((At(20), 0.2), (events[3].Timestamp, events[3].Observed));
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_does_not_block_the_loop_and_counts_its_drops()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = Build(probe, [], _ => { });
        using var slow = harness.Events.Subscribe(capacity: 4);
        using var fast = harness.Events.Subscribe();

        await harness.TickAsync();
        for (var i = 0; i < 20; i++)
        {
            probe.Set(i % 2 == 0 ? 0.9 : 0.1); // opens, closes, opens...: 20 events
            await harness.NextTickAsync().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        Assert.Equal(20, Drain(fast).Count);
        Assert.Equal(16, slow.Dropped);
        var kept = Drain(slow);
        Assert.Equal(4, kept.Count);
        Assert.Equal(harness.Time.GetUtcNow(), kept[^1].Timestamp); // the oldest were dropped, the newest kept
    }

    [Fact]
    public async Task Disposing_a_subscription_completes_its_reader_and_stops_delivery()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = Build(probe, [], _ => { });
        var subscription = harness.Events.Subscribe();

        subscription.Dispose();
        probe.Set(0.9);
        await harness.TickAsync();

        await subscription.Reader.Completion.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.False(subscription.Reader.TryRead(out _));
    }
}
