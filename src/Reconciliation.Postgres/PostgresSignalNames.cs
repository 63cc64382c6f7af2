namespace Reconciliation.Postgres;

/// <summary>Names of the signals the PostgreSQL probes write (the public contract rules refer to).</summary>
public static class PostgresSignalNames
{
    /// <summary>Busy connections of the app's Npgsql pool divided by its maximum pool size (0..1), from Npgsql's own metrics.</summary>
    public const string PoolUsage = "postgres.pool.usage";

    /// <summary>Requests waiting for a connection from the app's Npgsql pool (count), from Npgsql's own metrics.</summary>
    public const string PoolPending = "postgres.pool.pending";

    /// <summary>Client backends on the server divided by the connections ordinary roles may open (max_connections minus reserved slots).</summary>
    public const string ConnectionsUsage = "postgres.connections.usage";

    /// <summary>Sessions of the database idle in a transaction (count).</summary>
    public const string IdleInTransactionCount = "postgres.idle_in_transaction.count";

    /// <summary>The longest time a session of the database has been idle in a transaction, seconds (0 when none is).</summary>
    public const string IdleInTransactionMaxAge = "postgres.idle_in_transaction.max_age";

    /// <summary>Sessions of the database waiting on a lock another session holds (count, via <c>pg_blocking_pids</c>).</summary>
    public const string LocksBlocked = "postgres.locks.blocked";

    /// <summary>The longest a blocked session's statement has been waiting, seconds (0 when none is blocked).</summary>
    public const string LocksMaxWait = "postgres.locks.max_wait";

    /// <summary>1 while the server is a standby in recovery (<c>pg_is_in_recovery()</c>), 0 on a primary.</summary>
    public const string Recovery = "postgres.recovery";
}
