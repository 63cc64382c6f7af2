using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// The fleet-wide shared-resource lease in the PostgreSQL table <c>heal_lease</c> (<c>UsePostgresCoordination</c>):
/// one row per resource with its holder, its fencing token and its expiry on the server's clock. Taking it is one
/// statement that succeeds only when the row is free (never taken, expired, or released), with a new token from the
/// sequence <c>heal_lease_token</c>, greater than every earlier one. The handle renews it every third of
/// <see cref="PostgresCoordinationOptions.LeaseTimeToLive"/> and fires <see cref="IHealLeaseHandle.Lost"/> when it can
/// no longer be sure it holds it. Releasing keeps the row (the journal's fencing check needs the highest token) and
/// marks it expired.
/// </summary>
public sealed class PostgresHealLease : IHealLease
{
    private readonly PostgresCoordinationStore _store;
    private readonly Func<string> _holder;

    internal PostgresHealLease(PostgresCoordinationStore store, Func<string> holder)
    {
        _store = store;
        _holder = holder;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lease lives <see cref="PostgresCoordinationOptions.LeaseTimeToLive"/> on the server whatever
    /// <paramref name="duration"/> says; the handle renews it for as long as it is held.
    /// </remarks>
    public async ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        var ttl = _store.Options.LeaseTimeToLive;

        // Taken before the request is sent: the server starts the time to live at some moment after it.
        var requestedAt = _store.Time.GetTimestamp();
        var holder = _holder();
        var token = await _store.RunAsync("take the lease of a shared resource", _store.Sql.Acquire, p =>
        {
            p.AddWithValue("resource", NpgsqlDbType.Text, resource);
            p.AddWithValue("holder", NpgsqlDbType.Text, holder);
            p.AddWithValue("ttl", NpgsqlDbType.Interval, ttl);
        }, static async (command, ct) => await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as long?, cancellationToken).ConfigureAwait(false);

        return token is { } granted ? new Handle(_store, resource, granted, ttl, requestedAt) : null;
    }

    private sealed class Handle(PostgresCoordinationStore store, string resource, long token, TimeSpan ttl, long requestedAt)
        : RenewingLeaseHandle(token, ttl, requestedAt, store.Time)
    {
        protected override async ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken) =>
            await store.RunAsync("renew the lease of a shared resource", store.Sql.Renew, p =>
            {
                p.AddWithValue("resource", NpgsqlDbType.Text, resource);
                p.AddWithValue("token", NpgsqlDbType.Bigint, FencingToken);
                p.AddWithValue("ttl", NpgsqlDbType.Interval, timeToLive);
            }, static async (command, ct) => await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1, cancellationToken).ConfigureAwait(false);

        protected override async ValueTask ReleaseAsync(CancellationToken cancellationToken)
        {
            // Best effort, bounded by the time to live: a lease that could not be released expires on its own.
            using var timeout = new CancellationTokenSource(TimeToLive, store.Time);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                await store.RunAsync("release the lease of a shared resource", store.Sql.Release, p =>
                {
                    p.AddWithValue("resource", NpgsqlDbType.Text, resource);
                    p.AddWithValue("token", NpgsqlDbType.Bigint, FencingToken);
                }, static (command, ct) => command.ExecuteNonQueryAsync(ct), deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PostgresCoordinationException or OperationCanceledException)
            {
                store.Logger.LeaseReleaseFailed(resource, FencingToken, SecretScrubber.Describe(e));
            }
        }
    }
}
