namespace Reconciliation;

/// <summary>
/// The renewal half of a fleet-wide <see cref="IHealLeaseHandle"/>, for store implementations: the lease lives on the
/// store with a time to live, and this handle renews it every third of that time while it is held. It counts its own
/// validity from before the request that took (or last renewed) the lease, so it never believes itself valid longer
/// than the store does; when a renewal says another holder has it, or when the store stayed unreachable until no more
/// than one renewal period was left, <see cref="Lost"/> fires, before the store can give the lease to anyone else.
/// </summary>
public abstract class RenewingLeaseHandle : IHealLeaseHandle
{
    private readonly CancellationTokenSource _lost = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeToLive;
    private readonly TimeSpan _renewEvery;
    private readonly ITimer _timer;
    private long _validUntil;
    private int _renewing;
    private int _disposed;

    /// <summary>Starts renewing a lease the store has just granted.</summary>
    /// <param name="fencingToken">The token the store issued with the lease.</param>
    /// <param name="timeToLive">The lease's time to live on the store.</param>
    /// <param name="requestedAt">
    /// <see cref="TimeProvider.GetTimestamp"/> taken before the request that took the lease was sent: the store's clock
    /// started the time to live at some moment after it.
    /// </param>
    /// <param name="timeProvider">The clock.</param>
    protected RenewingLeaseHandle(long fencingToken, TimeSpan timeToLive, long requestedAt, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        FencingToken = fencingToken;
        _time = timeProvider;
        _timeToLive = timeToLive;
        _renewEvery = timeToLive / 3;
        _validUntil = requestedAt + Stopwatch(timeToLive);
        _timer = timeProvider.CreateTimer(static state => _ = ((RenewingLeaseHandle)state!).RenewOnceAsync(), this, _renewEvery, _renewEvery);
    }

    /// <inheritdoc />
    public long FencingToken { get; }

    /// <inheritdoc />
    public CancellationToken Lost => _lost.Token;

    /// <summary>Why the lease was lost, once <see cref="Lost"/> has fired.</summary>
    public string? LostReason { get; private set; }

    /// <summary>The lease's time to live on the store.</summary>
    protected TimeSpan TimeToLive => _timeToLive;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
        // _lost is not disposed: a healer that outlived its timeout may still hold its token (it owns no timer).
        if (!_lost.IsCancellationRequested)
        {
            await ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Extends the lease on the store by <paramref name="timeToLive"/> if this token still holds it. Returns
    /// <see langword="false"/> when another holder has it (or it expired); throws when the store cannot be reached.
    /// </summary>
    protected abstract ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Deletes the lease on the store if this token still holds it.</summary>
    protected abstract ValueTask ReleaseAsync(CancellationToken cancellationToken);

    /// <summary>One renewal (the timer calls it every third of the time to live; tests may call it directly).</summary>
    internal async Task RenewOnceAsync()
    {
        if (Volatile.Read(ref _disposed) != 0 || _lost.IsCancellationRequested || Interlocked.Exchange(ref _renewing, 1) != 0)
        {
            return;
        }

        try
        {
            var requested = _time.GetTimestamp();
            var left = Left(requested);
            if (left <= TimeSpan.Zero)
            {
                Lose("it expired before it could be renewed");
                return;
            }

            bool renewed;
            try
            {
                using var deadline = new CancellationTokenSource(left, _time);
                renewed = await RenewAsync(_timeToLive, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The store is unreachable: keep the lease while it is surely still valid, give it up before the store could.
                if (Left(_time.GetTimestamp()) <= _renewEvery)
                {
                    Lose($"the store could not renew it within its time to live ({SecretScrubber.Describe(e)})");
                }

                return;
            }

            if (!renewed)
            {
                Lose("another holder has it");
                return;
            }

            Volatile.Write(ref _validUntil, requested + Stopwatch(_timeToLive));
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    private TimeSpan Left(long now) => TimeSpan.FromSeconds((double)(Volatile.Read(ref _validUntil) - now) / _time.TimestampFrequency);

    private long Stopwatch(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void Lose(string reason)
    {
        LostReason = "the lease was lost: " + reason;
        _lost.Cancel();
    }
}
