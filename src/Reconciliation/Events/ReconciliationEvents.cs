using System.Threading.Channels;

namespace Reconciliation;

/// <summary>
/// The event stream user code subscribes to. Each subscriber gets its own bounded buffer; when a slow
/// subscriber falls behind, its oldest events are dropped (and counted), so the loop is never delayed.
/// </summary>
public sealed class ReconciliationEvents
{
    private readonly Lock _gate = new();
    private Subscription[] _subscribers = [];

    internal ReconciliationEvents()
    {
    }

    /// <summary>Subscribes. Read events from <see cref="Subscription.Reader"/>; dispose to unsubscribe.</summary>
    /// <param name="capacity">How many unread events to buffer before dropping the oldest. Default 1024.</param>
    public Subscription Subscribe(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var subscription = new Subscription(this, capacity);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }

        return subscription;
    }

    internal bool HasSubscribers => Volatile.Read(ref _subscribers).Length > 0;

    internal void Publish(ReconciliationEvent e)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(e);
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => !ReferenceEquals(s, subscription));
        }
    }

    /// <summary>One subscriber's buffer of events.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly ReconciliationEvents _owner;
        private readonly Channel<ReconciliationEvent> _channel;
        private long _dropped;

        internal Subscription(ReconciliationEvents owner, int capacity)
        {
            _owner = owner;
            _channel = Channel.CreateBounded<ReconciliationEvent>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = false },
                _ => Interlocked.Increment(ref _dropped));
        }

        /// <summary>The events, in order. Completes when the subscription is disposed.</summary>
        public ChannelReader<ReconciliationEvent> Reader => _channel.Reader;

        /// <summary>Events dropped because this subscriber fell behind.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);

        /// <inheritdoc />
        public void Dispose()
        {
            _owner.Remove(this);
            _channel.Writer.TryComplete();
        }

        internal void Offer(ReconciliationEvent e) => _channel.Writer.TryWrite(e);
    }
}
