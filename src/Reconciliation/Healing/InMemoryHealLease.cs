namespace Reconciliation;

/// <summary>The default lease: exclusion within this process, expiring after its duration on the <see cref="TimeProvider"/> clock.</summary>
public sealed class InMemoryHealLease : IHealLease, INeverBlocks
{
    private readonly Dictionary<string, (long Token, DateTimeOffset Expires)> _held = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private long _nextToken;

    /// <summary>Creates the lease store.</summary>
    public InMemoryHealLease(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
    }

    /// <inheritdoc />
    public ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_held.TryGetValue(resource, out var current) && current.Expires > now)
            {
                return ValueTask.FromResult<IHealLeaseHandle?>(null);
            }

            var token = ++_nextToken;
            _held[resource] = (token, now + duration);
            return ValueTask.FromResult<IHealLeaseHandle?>(new Handle(this, resource, token));
        }
    }

    private void Release(string resource, long token)
    {
        lock (_gate)
        {
            // Only the holder releases: an expired lease taken over by someone else stays theirs.
            if (_held.TryGetValue(resource, out var current) && current.Token == token)
            {
                _held.Remove(resource);
            }
        }
    }

    private sealed class Handle(InMemoryHealLease owner, string resource, long token) : IHealLeaseHandle, INeverBlocks
    {
        private int _released;

        public long FencingToken => token;

        // Within one process the holder cannot lose it: it expires only for a holder that outlived its duration.
        public CancellationToken Lost => CancellationToken.None;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(resource, token);
            }

            return ValueTask.CompletedTask;
        }
    }
}
