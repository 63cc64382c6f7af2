using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Events;

/// <summary>
/// The event stream: ordered state changes; a subscriber that falls behind loses its oldest events (counted), and neither
/// a subscriber that never reads nor one whose handler blocks holds up publishing.
/// </summary>
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
    public void A_subscriber_that_falls_behind_keeps_the_newest_events_and_counts_each_one_dropped()
    {
        var events = new ReconciliationEvents();
        using var slow = events.Subscribe(capacity: 4);
        using var fast = events.Subscribe();

        // Twenty events, none read yet: five times the slow subscriber's buffer.
        for (var i = 0; i < 20; i++)
        {
            events.Publish(Event(i));
        }

        Assert.Equal(16, slow.Dropped);
        Assert.Equal([16, 17, 18, 19], Drain(slow).Select(e => e.Attempt)); // the oldest were dropped, the newest kept in order
        Assert.Equal(0, fast.Dropped);
        Assert.Equal(Enumerable.Range(0, 20), Drain(fast).Select(e => e.Attempt!.Value));

        // Dropping is per backlog, not for good: once read, the buffer takes new events again without drops.
        events.Publish(Event(20));
        Assert.Equal(16, slow.Dropped);
        Assert.Equal([20], Drain(slow).Select(e => e.Attempt));
    }

    [Fact]
    public async Task Publishing_never_waits_for_a_subscriber_that_never_reads_or_blocks_in_its_handler()
    {
        var events = new ReconciliationEvents();
        using var neverReads = events.Subscribe(capacity: 1);
        using var blocks = events.Subscribe(capacity: 1);
        using var fast = events.Subscribe(capacity: 1_000);
        using var release = new ManualResetEventSlim();

        // A subscriber already waiting whose handler then blocks its thread: if the channel ran the waiting reader's
        // continuation on the publishing thread, the first Publish would never return.
        var handler = blocks.Reader.WaitToReadAsync(TestContext.Current.CancellationToken).AsTask()
            .ContinueWith(_ => release.Wait(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            var publisher = Task.Factory.StartNew(
                () =>
                {
                    for (var i = 0; i < 1_000; i++)
                    {
                        events.Publish(Event(i));
                    }
                },
                TestContext.Current.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            await publisher.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
        finally
        {
            release.Set();
        }

        await handler.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(1_000, Drain(fast).Count);
        Assert.Equal(999, neverReads.Dropped);
        Assert.Equal(999, Drain(neverReads).Single().Attempt);
        Assert.Equal(999, blocks.Dropped);
    }

    [Fact]
    public async Task A_subscriber_whose_handler_blocks_does_not_hold_up_the_loop()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = Build(probe, [], _ => { });
        using var blocked = harness.Events.Subscribe(capacity: 4);
        using var fast = harness.Events.Subscribe();
        using var release = new ManualResetEventSlim();
        var handler = blocked.Reader.WaitToReadAsync(TestContext.Current.CancellationToken).AsTask()
            .ContinueWith(_ => release.Wait(TestContext.Current.CancellationToken), TestContext.Current.CancellationToken, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        try
        {
            // The ticks run on a thread of their own: were the handler run on the publishing thread, they would block there
            // and this test would fail at the deadline instead of hanging.
            var ticking = Task.Run(
                async () =>
                {
                    await harness.TickAsync();
                    for (var i = 0; i < 20; i++)
                    {
                        probe.Set(i % 2 == 0 ? 0.9 : 0.1); // opens, closes, opens...: 20 events
                        await harness.NextTickAsync();
                    }
                },
                TestContext.Current.CancellationToken);
            await ticking.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
        finally
        {
            release.Set();
        }

        await handler.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(20, Drain(fast).Count);
        Assert.Equal(16, blocked.Dropped);
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

    private static ReconciliationEvent Event(int n) => new()
    {
        Kind = ReconciliationEventKind.ViolationOpened,
        Timestamp = At(n),
        Rule = "r",
        Signal = Signal,
        Resource = "db",
        Attempt = n,
    };
}
