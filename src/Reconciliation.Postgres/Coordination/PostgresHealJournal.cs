using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// The fleet's heal journal in the PostgreSQL table <c>heal_journal</c> (<c>UsePostgresCoordination</c>): every replica
/// counts the attempts of all of them. A record is stored once per <see cref="HealRecord.Id"/> (a replayed write is a
/// no-op), and a record whose <see cref="HealRecord.LeaseToken"/> a later holder of the resource's lease superseded is
/// refused with <see cref="HealLeaseLostException"/>. Failures throw <see cref="PostgresCoordinationException"/>; the
/// engine queues the record and writes it again once the server answers.
/// </summary>
public sealed class PostgresHealJournal : IHealJournal
{
    /// <summary>How often at most one process deletes records past the retention: once an hour.</summary>
    internal static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    private readonly PostgresCoordinationStore _store;
    private long _lastPrune;
    private int _prunedOnce;
    private int _pruning;

    internal PostgresHealJournal(PostgresCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public async ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var (inserted, fenced, present) = await _store.RunAsync("record a heal", _store.Sql.Record, p =>
        {
            p.AddWithValue("id", NpgsqlDbType.Uuid, record.Id);
            p.AddWithValue("healer", NpgsqlDbType.Text, record.Healer);
            p.AddWithValue("resource", NpgsqlDbType.Text, record.Resource);
            p.AddWithValue("rule", NpgsqlDbType.Text, record.Rule);
            p.AddWithValue("replica", NpgsqlDbType.Text, (object?)record.Replica ?? DBNull.Value);
            p.AddWithValue("lease_token", NpgsqlDbType.Bigint, (object?)record.LeaseToken ?? DBNull.Value);
            p.AddWithValue("outcome", NpgsqlDbType.Text, record.Outcome.ToString());
            p.AddWithValue("reason", NpgsqlDbType.Text, (object?)record.Reason ?? DBNull.Value);
            p.AddWithValue("is_verdict", NpgsqlDbType.Boolean, record.IsVerdict);
            p.AddWithValue("started_at", NpgsqlDbType.TimestampTz, record.StartedAt.ToUniversalTime());
        }, static async (command, token) =>
        {
            var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            await reader.ReadAsync(token).ConfigureAwait(false);
            return (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2));
        }, cancellationToken).ConfigureAwait(false);

        // Not inserted and not fenced: the same id was already stored (a replay of a write that did land).
        if (!inserted && fenced && !present)
        {
            throw new HealLeaseLostException(
                $"The heal of '{record.Resource}' by {record.Healer} held lease token {record.LeaseToken}, which a later holder superseded; its record was refused.");
        }

        StartPruneIfDue();
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(healer);
        ArgumentNullException.ThrowIfNull(resource);
        return await _store.RunAsync("count heal attempts", _store.Sql.CountAttempts, p =>
        {
            p.AddWithValue("healer", NpgsqlDbType.Text, healer);
            p.AddWithValue("resource", NpgsqlDbType.Text, resource);
            p.AddWithValue("replica", NpgsqlDbType.Text, (object?)replica ?? DBNull.Value);
            p.AddWithValue("since", NpgsqlDbType.TimestampTz, since.ToUniversalTime());
        }, ScalarInt, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(healer);
        if (max <= 0)
        {
            return [];
        }

        return await _store.RunAsync("read heal attempt times", _store.Sql.AttemptTimes, p =>
        {
            p.AddWithValue("healer", NpgsqlDbType.Text, healer);
            p.AddWithValue("replica", NpgsqlDbType.Text, (object?)replica ?? DBNull.Value);
            p.AddWithValue("since", NpgsqlDbType.TimestampTz, since.ToUniversalTime());
            p.AddWithValue("max", NpgsqlDbType.Integer, max);
        }, static async (command, token) =>
        {
            var times = new List<DateTimeOffset>();
            var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                times.Add(reader.GetFieldValue<DateTimeOffset>(0));
            }

            return (IReadOnlyList<DateTimeOffset>)times;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        await _store.RunAsync("count heal attempts", _store.Sql.CountAllAttempts,
            p => p.AddWithValue("since", NpgsqlDbType.TimestampTz, since.ToUniversalTime()), ScalarInt, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken)
    {
        if (max <= 0)
        {
            return [];
        }

        return await _store.RunAsync("read recent heals", _store.Sql.Recent, p => p.AddWithValue("max", NpgsqlDbType.Integer, max), static async (command, token) =>
        {
            var records = new List<HealRecord>();
            var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                var outcome = Enum.TryParse<HealOutcomeKind>(reader.GetString(6), out var kind) ? kind : HealOutcomeKind.Failed;
                records.Add(new HealRecord(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(9), outcome,
                    reader.IsDBNull(7) ? null : reader.GetString(7))
                {
                    Id = reader.GetGuid(0),
                    Replica = reader.IsDBNull(4) ? null : reader.GetString(4),
                    LeaseToken = reader.IsDBNull(5) ? null : reader.GetInt64(5),
                    IsVerdict = reader.GetBoolean(8),
                });
            }

            return (IReadOnlyList<HealRecord>)records;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes one batch of records older than the retention; returns how many (tests call it directly).</summary>
    internal async Task<int> PruneAsync(CancellationToken cancellationToken) =>
        await _store.RunAsync("delete old heal records", _store.Sql.Prune,
            p => p.AddWithValue("retention", NpgsqlDbType.Interval, _store.Options.JournalRetention),
            static (command, token) => command.ExecuteNonQueryAsync(token), cancellationToken).ConfigureAwait(false);

    private static async Task<int> ScalarInt(Npgsql.NpgsqlCommand command, CancellationToken cancellationToken) =>
        (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// After the first write of a process, then at most once an hour, in the background: the engine's call never waits
    /// for it (and a process restarted more often than hourly still prunes).
    /// </summary>
    private void StartPruneIfDue()
    {
        var now = _store.Time.GetTimestamp();
        var due = Volatile.Read(ref _prunedOnce) == 0 || _store.Time.GetElapsedTime(Volatile.Read(ref _lastPrune), now) >= PruneEvery;
        if (!due || Interlocked.Exchange(ref _pruning, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _prunedOnce, 1);
        Volatile.Write(ref _lastPrune, now);
        _ = PruneInBackgroundAsync();
    }

    private async Task PruneInBackgroundAsync()
    {
        try
        {
            var deleted = await PruneAsync(CancellationToken.None).ConfigureAwait(false);
            _store.Logger.JournalPruned(deleted, _store.Options.JournalRetention);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _store.Logger.JournalPruneFailed(SecretScrubber.Describe(e));
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }
}
