namespace Reconciliation.PgBouncer;

/// <summary>
/// One reading of the pooler: <c>SHOW POOLS</c>, <c>SHOW STATS</c>, <c>SHOW DATABASES</c>, <c>SHOW CONFIG</c> and
/// <c>SHOW LISTS</c>, sent in one write and read in one round trip, reduced to what the signals need per database.
/// Columns are found by name, so a newer PgBouncer with more columns reads the same.
/// </summary>
internal sealed class PgBouncerSnapshot
{
    internal static readonly string[] Commands = ["SHOW POOLS", "SHOW STATS", "SHOW DATABASES", "SHOW CONFIG", "SHOW LISTS"];

    private readonly Dictionary<string, DatabaseReading> _databases;

    private PgBouncerSnapshot(Dictionary<string, DatabaseReading> databases, long usedClients, long maxClientConnections, string defaultPoolMode)
    {
        _databases = databases;
        UsedClients = usedClients;
        MaxClientConnections = maxClientConnections;
        DefaultPoolMode = defaultPoolMode;
    }

    /// <summary>Client connections of the whole pooler (<c>SHOW LISTS</c> <c>used_clients</c>).</summary>
    public long UsedClients { get; }

    /// <summary><c>max_client_conn</c>.</summary>
    public long MaxClientConnections { get; }

    /// <summary>The pooler-wide <c>pool_mode</c>.</summary>
    public string DefaultPoolMode { get; }

    /// <summary>used_clients / max_client_conn, or null when the limit is unknown.</summary>
    public double? ClientsUsage => MaxClientConnections > 0 ? (double)UsedClients / MaxClientConnections : null;

    public DatabaseReading? Database(string name) => _databases.GetValueOrDefault(name);

    public static PgBouncerSnapshot Parse(IReadOnlyList<PgBouncerResultSet> results)
    {
        if (results.Count != Commands.Length)
        {
            throw new PgBouncerProtocolException($"Expected {Commands.Length} replies, got {results.Count}.");
        }

        var (pools, stats, databases, config, lists) = (results[0], results[1], results[2], results[3], results[4]);

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in config.Rows)
        {
            settings[config.Text(row, "key") ?? string.Empty] = config.Text(row, "value");
        }

        var defaultMode = settings.GetValueOrDefault("pool_mode") is { Length: > 0 } mode ? mode : "session";
        var maxClients = long.TryParse(settings.GetValueOrDefault("max_client_conn"), System.Globalization.CultureInfo.InvariantCulture, out var m) ? m : 0;

        long usedClients = 0;
        foreach (var row in lists.Rows)
        {
            if (string.Equals(lists.Text(row, "list"), "used_clients", StringComparison.Ordinal))
            {
                usedClients = lists.Integer(row, "items");
            }
        }

        var byName = new Dictionary<string, DatabaseReading>(StringComparer.Ordinal);
        foreach (var row in databases.Rows)
        {
            var name = databases.Text(row, "name") ?? string.Empty;
            var ownMode = databases.Text(row, "pool_mode");
            byName[name] = new DatabaseReading
            {
                Name = name,
                PoolSize = databases.Integer(row, "pool_size"),
                ReservePool = databases.Integer(row, "reserve_pool"),
                PoolMode = string.IsNullOrEmpty(ownMode) ? defaultMode : ownMode,
                MaxConnections = databases.Integer(row, "max_connections"),
                CurrentConnections = databases.Integer(row, "current_connections"),
                Paused = databases.Integer(row, "paused") != 0,
                Disabled = databases.Integer(row, "disabled") != 0,
            };
        }

        foreach (var row in pools.Rows)
        {
            if (!byName.TryGetValue(pools.Text(row, "database") ?? string.Empty, out var db))
            {
                continue;
            }

            db.ClientsWaiting += pools.Integer(row, "cl_waiting");
            var wait = pools.Integer(row, "maxwait") + (pools.HasColumn("maxwait_us") ? pools.Integer(row, "maxwait_us") / 1_000_000.0 : 0);
            db.MaxWaitSeconds = Math.Max(db.MaxWaitSeconds, wait);
            var servers = pools.Integer(row, "sv_active") + pools.Integer(row, "sv_idle") + pools.Integer(row, "sv_used")
                + pools.Integer(row, "sv_tested") + pools.Integer(row, "sv_login");
            db.MaxPoolServers = Math.Max(db.MaxPoolServers, servers);
            var user = pools.Text(row, "user") ?? string.Empty;
            if (pools.HasColumn("pool_mode") && pools.Text(row, "pool_mode") is { Length: > 0 } poolMode)
            {
                db.PoolModes[user] = poolMode;
            }
        }

        foreach (var row in stats.Rows)
        {
            if (byName.TryGetValue(stats.Text(row, "database") ?? string.Empty, out var db))
            {
                db.TotalQueryCount = stats.Integer(row, "total_query_count");
                db.TotalQueryMicroseconds = stats.Integer(row, "total_query_time");
                db.TotalTransactionCount = stats.Integer(row, "total_xact_count");
                db.TotalTransactionMicroseconds = stats.Integer(row, "total_xact_time");
                db.HasStats = true;
            }
        }

        return new PgBouncerSnapshot(byName, usedClients, maxClients, defaultMode);
    }

    /// <summary>0 session, 1 transaction, 2 statement; null for a mode this version does not know.</summary>
    public static double? PoolModeValue(string mode) => mode.ToLowerInvariant() switch
    {
        "session" => 0,
        "transaction" => 1,
        "statement" => 2,
        _ => null,
    };

    /// <summary>What the pooler says about one database.</summary>
    internal sealed class DatabaseReading
    {
        public required string Name { get; init; }

        public long PoolSize { get; init; }

        public long ReservePool { get; init; }

        /// <summary>The database's pool_mode, or the pooler's default when it sets none.</summary>
        public required string PoolMode { get; init; }

        public long MaxConnections { get; init; }

        public long CurrentConnections { get; init; }

        public bool Paused { get; init; }

        public bool Disabled { get; init; }

        public long ClientsWaiting { get; set; }

        public double MaxWaitSeconds { get; set; }

        /// <summary>Server connections of the database's fullest pool (one pool per user).</summary>
        public long MaxPoolServers { get; set; }

        /// <summary>The effective pool mode of each existing pool of the database, by user.</summary>
        public Dictionary<string, string> PoolModes { get; } = new(StringComparer.Ordinal);

        public bool HasStats { get; set; }

        public long TotalQueryCount { get; set; }

        public long TotalQueryMicroseconds { get; set; }

        public long TotalTransactionCount { get; set; }

        public long TotalTransactionMicroseconds { get; set; }

        public double ServersUsage
        {
            get
            {
                var capacity = PoolSize + ReservePool;
                var usage = capacity > 0 ? (double)MaxPoolServers / capacity : 0;
                if (MaxConnections > 0)
                {
                    usage = Math.Max(usage, (double)CurrentConnections / MaxConnections);
                }

                return usage;
            }
        }
    }
}
