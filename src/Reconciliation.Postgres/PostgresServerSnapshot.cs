using Npgsql;
using NpgsqlTypes;

namespace Reconciliation.Postgres;

/// <summary>
/// What the server probe and the migration gate read, in one round trip: one <see cref="NpgsqlBatch"/> of two statements,
/// the settings and one scan of <c>pg_stat_activity</c> with aggregate <c>FILTER</c>s (the scan is the probe's cost,
/// so it is done once, not once per signal).
/// </summary>
internal sealed record PostgresServerSnapshot(
    int MaxConnections,
    int ReservedConnections,
    bool InRecovery,
    long Backends,
    long IdleInTransaction,
    double IdleInTransactionMaxAge,
    long Blocked,
    double MaxLockWait,
    double OldestTransactionAge)
{
    /// <summary>Settings: reserved slots are <c>superuser_reserved_connections</c> plus <c>reserved_connections</c> (PostgreSQL 16+, NULL before).</summary>
    internal const string SettingsSql = """
        SELECT current_setting('max_connections')::int,
               current_setting('superuser_reserved_connections')::int
                 + coalesce(current_setting('reserved_connections', true)::int, 0),
               pg_is_in_recovery()
        """;

    /// <summary>
    /// One scan of <c>pg_stat_activity</c>. $1: count idle-in-transaction sessions of every application (true) or only of
    /// the names in $2. <c>pg_blocking_pids</c> runs only for sessions waiting on a lock, once per row (the subquery with
    /// OFFSET 0 is not flattened, so the flag is computed once). Idle-in-transaction, lock and transaction figures cover
    /// the current database; the backend count covers the server, as <c>max_connections</c> does.
    /// </summary>
    internal const string ActivitySql = """
        SELECT count(*) FILTER (WHERE a.backend_type = 'client backend'),
               count(*) FILTER (WHERE a.idle_tx),
               coalesce(extract(epoch FROM max(now() - a.state_change) FILTER (WHERE a.idle_tx)), 0)::float8,
               count(*) FILTER (WHERE a.blocked),
               coalesce(extract(epoch FROM max(now() - a.query_start) FILTER (WHERE a.blocked)), 0)::float8,
               coalesce(extract(epoch FROM max(now() - a.xact_start) FILTER (WHERE a.own_xact)), 0)::float8
        FROM (
            SELECT s.backend_type, s.state_change, s.query_start, s.xact_start,
                   (s.datname = current_database()
                      AND s.state IN ('idle in transaction', 'idle in transaction (aborted)')
                      AND ($1 OR s.application_name = ANY($2))) AS idle_tx,
                   (s.datname = current_database()
                      AND s.wait_event_type = 'Lock'
                      AND cardinality(pg_blocking_pids(s.pid)) > 0) AS blocked,
                   (s.datname = current_database()
                      AND s.backend_type = 'client backend'
                      AND s.xact_start IS NOT NULL
                      AND s.pid <> pg_backend_pid()) AS own_xact
            FROM pg_stat_activity s
            OFFSET 0
        ) a
        """;

    /// <summary>Connections ordinary roles may open: max_connections minus reserved slots (at least 1).</summary>
    public int UsableConnections => Math.Max(1, MaxConnections - ReservedConnections);

    /// <summary><c>postgres.connections.usage</c>.</summary>
    public double ConnectionsUsage => (double)Backends / UsableConnections;

    /// <summary>Reads a snapshot over <paramref name="connection"/> in one round trip.</summary>
    public static async Task<PostgresServerSnapshot> ReadAsync(NpgsqlConnection connection, IReadOnlyList<string> applicationNames,
        bool allApplications, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection);
        await using var batchScope = batch.ConfigureAwait(false);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SettingsSql));
        var activity = new NpgsqlBatchCommand(ActivitySql);
        activity.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean, Value = allApplications });
        activity.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = applicationNames.ToArray() });
        batch.BatchCommands.Add(activity);

        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var maxConnections = reader.GetInt32(0);
        var reserved = reader.GetInt32(1);
        var inRecovery = reader.GetBoolean(2);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new PostgresServerSnapshot(
            maxConnections,
            reserved,
            inRecovery,
            Backends: reader.GetInt64(0),
            IdleInTransaction: reader.GetInt64(1),
            IdleInTransactionMaxAge: reader.GetDouble(2),
            Blocked: reader.GetInt64(3),
            MaxLockWait: reader.GetDouble(4),
            OldestTransactionAge: reader.GetDouble(5));
    }
}
