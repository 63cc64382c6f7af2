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
    /// One scan of <c>pg_stat_activity</c>. $1: count idle-in-transaction sessions of every application (true) or only the
    /// healer's scope: client backends of the names in $2 and the roles in $3. A session "blocked" is one of the current
    /// database waiting on a heavyweight lock (<c>wait_event_type = 'Lock'</c>); the longest wait comes from
    /// <c>pg_locks.waitstart</c> (PostgreSQL 14+), looked up only when some session waits, and never with
    /// <c>pg_blocking_pids</c> (which takes the lock manager's locks once per call: a pile-up of waiters would pay it once
    /// each). Idle-in-transaction, lock and transaction figures cover the current database; the backend count covers the
    /// server, as <c>max_connections</c> does.
    /// </summary>
    internal const string ActivitySql = """
        WITH a AS (
            SELECT s.pid, s.backend_type, s.state_change, s.xact_start,
                   (s.datname = current_database()
                      AND s.state IN ('idle in transaction', 'idle in transaction (aborted)')
                      AND ($1 OR (s.backend_type = 'client backend' AND s.application_name = ANY($2) AND s.usename = ANY($3)))) AS idle_tx,
                   (s.datname = current_database() AND s.wait_event_type = 'Lock') AS waiting,
                   (s.datname = current_database()
                      AND s.backend_type = 'client backend'
                      AND s.xact_start IS NOT NULL
                      AND s.pid <> pg_backend_pid()) AS own_xact
            FROM pg_stat_activity s
        ), agg AS (
            SELECT count(*) FILTER (WHERE a.backend_type = 'client backend') AS backends,
                   count(*) FILTER (WHERE a.idle_tx) AS idle_tx,
                   coalesce(extract(epoch FROM max(now() - a.state_change) FILTER (WHERE a.idle_tx)), 0)::float8 AS idle_age,
                   count(*) FILTER (WHERE a.waiting) AS blocked,
                   array_agg(a.pid) FILTER (WHERE a.waiting) AS waiters,
                   coalesce(extract(epoch FROM max(now() - a.xact_start) FILTER (WHERE a.own_xact)), 0)::float8 AS xact_age
            FROM a
        )
        SELECT agg.backends, agg.idle_tx, agg.idle_age, agg.blocked,
               CASE WHEN cardinality(agg.waiters) > 0
                    THEN coalesce((SELECT extract(epoch FROM max(now() - l.waitstart))::float8
                                   FROM pg_locks l WHERE NOT l.granted AND l.pid = ANY(agg.waiters)), 0)
                    ELSE 0 END::float8,
               agg.xact_age
        FROM agg
        """;

    /// <summary>Connections ordinary roles may open: max_connections minus reserved slots (at least 1).</summary>
    public int UsableConnections => Math.Max(1, MaxConnections - ReservedConnections);

    /// <summary><c>postgres.connections.usage</c>.</summary>
    public double ConnectionsUsage => (double)Backends / UsableConnections;

    /// <summary>
    /// Reads a snapshot in one round trip with <paramref name="batch"/>, the probe session's kept batch: built and prepared
    /// on first use, then only its parameters change (the server plans it once per session, not once per tick).
    /// </summary>
    public static async Task<PostgresServerSnapshot> ReadAsync(NpgsqlBatch batch, string[] applicationNames, string[] roles,
        bool allApplications, CancellationToken cancellationToken)
    {
        if (batch.BatchCommands.Count == 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(SettingsSql));
            var command = new NpgsqlBatchCommand(ActivitySql);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            batch.BatchCommands.Add(command);
            SetParameters(batch, applicationNames, roles, allApplications);
            await batch.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            SetParameters(batch, applicationNames, roles, allApplications);
        }

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

    private static void SetParameters(NpgsqlBatch batch, string[] applicationNames, string[] roles, bool allApplications)
    {
        var parameters = batch.BatchCommands[1].Parameters;
        parameters[0].Value = allApplications;
        parameters[1].Value = applicationNames;
        parameters[2].Value = roles;
    }
}
