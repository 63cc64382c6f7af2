namespace Reconciliation.PgBouncer;

/// <summary>
/// Names of the signals the PgBouncer probe writes, one set per declared pooler database (resource
/// <c>&lt;name&gt;/&lt;database&gt;</c>, see <see cref="PgBouncerResourceNames"/>). Ratios are 0..1, durations seconds.
/// </summary>
public static class PgBouncerSignalNames
{
    /// <summary>Clients of the database waiting for a server connection (<c>cl_waiting</c> summed over its pools), count.</summary>
    public const string ClientsWaiting = "pgbouncer.clients.waiting";

    /// <summary>How long the oldest waiting client of the database has waited (<c>maxwait</c> + <c>maxwait_us</c>, the largest over its pools), seconds.</summary>
    public const string WaitMax = "pgbouncer.wait.max";

    /// <summary>Server connections of the database's fullest pool / (<c>pool_size</c> + <c>reserve_pool</c>), or / <c>max_db_connections</c> when that binds first, ratio.</summary>
    public const string ServersUsage = "pgbouncer.servers.usage";

    /// <summary>Client connections of the whole pooler (<c>used_clients</c>) / <c>max_client_conn</c>, ratio. The limit is pooler-wide, so every database reads the same value.</summary>
    public const string ClientsUsage = "pgbouncer.clients.usage";

    /// <summary>The database's effective pool mode: 0 session, 1 transaction, 2 statement.</summary>
    public const string PoolMode = "pgbouncer.pool_mode";

    /// <summary>Average query time of the database since the previous reading (<c>SHOW STATS</c> deltas), seconds; no reading without queries in between.</summary>
    public const string QueryAverageTime = "pgbouncer.query.avg_time";

    /// <summary>Average transaction time of the database since the previous reading (<c>SHOW STATS</c> deltas), seconds; no reading without transactions in between.</summary>
    public const string TransactionAverageTime = "pgbouncer.transaction.avg_time";

    /// <summary>1 while the database is paused (<c>PAUSE</c> or a <c>KILL</c> not yet resumed) or disabled, else 0.</summary>
    public const string Paused = "pgbouncer.paused";
}

/// <summary>Names of the PgBouncer healers (the names rules list in <c>Heal</c>).</summary>
public static class PgBouncerHealerNames
{
    /// <summary><c>RECONNECT db</c>: the pooler closes each server connection of the database once it is released, and opens fresh ones. Not destructive.</summary>
    public const string Reconnect = "pgbouncer.reconnect";

    /// <summary><c>KILL db</c> then <c>RESUME db</c>: drops every client and server connection of the database at once. Destructive: opt in with <c>AllowDestructive</c>.</summary>
    public const string KillDatabase = "pgbouncer.kill-db";

    /// <summary><c>RESUME db</c>: lets a paused (or killed) database take connections again. Not destructive.</summary>
    public const string Resume = "pgbouncer.resume";
}

/// <summary>How PgBouncer resources are named: <c>&lt;name&gt;/&lt;database&gt;</c>, one per declared pooler database.</summary>
public static class PgBouncerResourceNames
{
    /// <summary>The resource of <paramref name="database"/> on the pooler registered as <paramref name="pooler"/> (<c>pooler/orders</c>).</summary>
    public static string For(string pooler, string database) => pooler + "/" + database;
}
