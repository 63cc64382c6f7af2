using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// The fleet's shared-resource lease on Redis: a key per resource with a time to live
/// (<see cref="RedisCoordinationOptions.LeaseTimeToLive"/>), taken, renewed and released by Lua scripts that run
/// atomically on the server, with a fencing token from a per-resource counter that never expires (so every holder's
/// token is greater than every earlier holder's). The holder renews it every third of its time to live while the heal
/// runs; a renewal that finds another token, or that cannot reach the server before the lease could expire, cancels
/// <see cref="IHealLeaseHandle.Lost"/>.
/// </summary>
public sealed class RedisHealLease : IHealLease
{
    private readonly RedisCoordinationStore _store;
    private readonly Func<string> _holder;
    private readonly TimeProvider _time;

    /// <summary>Creates the lease on <paramref name="connection"/> (not disposed by it), held in the name of <paramref name="holder"/>.</summary>
    /// <param name="connection">The Redis connection.</param>
    /// <param name="options">The key prefix, time to live and database.</param>
    /// <param name="holder">Who holds the lease (the replica id), stored with it for operators.</param>
    /// <param name="timeProvider">The clock the renewals run on.</param>
    public RedisHealLease(IConnectionMultiplexer connection, RedisCoordinationOptions options, string holder, TimeProvider timeProvider)
        : this(RedisCoordinationStore.ForConnection(Checked(connection), options), Holder(holder), timeProvider)
    {
    }

    internal RedisHealLease(RedisCoordinationStore store, Func<string> holder, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _store = store;
        _holder = holder;
        _time = timeProvider;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lease lives for <see cref="RedisCoordinationOptions.LeaseTimeToLive"/> on the server and is renewed while held,
    /// whatever <paramref name="duration"/> says: a holder that dies frees it after one time to live, not after the heal's
    /// whole expected duration.
    /// </remarks>
    public async ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        var ttl = _store.Options.LeaseTimeToLive;
        var holder = _holder();

        // Taken before the request: the server starts the time to live at some moment after it, never before.
        var requestedAt = _time.GetTimestamp();
        var reply = await _store.RunAsync("the lease acquire script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.Acquire,
            [_store.LeaseKey(resource), _store.FenceKey(resource)], [holder, Milliseconds(ttl)]), cancellationToken).ConfigureAwait(false);
        if (reply.IsNull)
        {
            return null;
        }

        return new Handle(_store, resource, (long)reply, ttl, requestedAt, _time);
    }

    internal static RedisValue Milliseconds(TimeSpan span) => ((long)Math.Ceiling(span.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);

    private static IConnectionMultiplexer Checked(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection;
    }

    private static Func<string> Holder(string holder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        return () => holder;
    }

    private sealed class Handle : RenewingLeaseHandle
    {
        private readonly RedisCoordinationStore _store;
        private readonly RedisKey _key;
        private readonly RedisValue _token;

        public Handle(RedisCoordinationStore store, string resource, long token, TimeSpan timeToLive, long requestedAt, TimeProvider time)
            : base(token, timeToLive, requestedAt, time)
        {
            _store = store;
            _key = store.LeaseKey(resource);
            _token = token.ToString(CultureInfo.InvariantCulture);
        }

        protected override async ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            var reply = await _store.RunAsync("the lease renew script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.Renew,
                [_key], [_token, Milliseconds(timeToLive)]), cancellationToken).ConfigureAwait(false);
            return (long)reply == 1;
        }

        protected override async ValueTask ReleaseAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _store.RunAsync("the lease release script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.Release,
                    [_key], [_token]), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or ObjectDisposedException)
            {
                // Unreachable: the lease expires on its own after its time to live; nothing else to do.
            }
        }
    }
}
