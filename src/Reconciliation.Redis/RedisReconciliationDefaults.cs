namespace Reconciliation.Redis;

/// <summary>Defaults of <see cref="RedisReconciliationOptions"/>.</summary>
public static class RedisReconciliationDefaults
{
    /// <summary>The resource name of an unnamed registration, <c>redis</c>.</summary>
    public const string ResourceName = "redis";

    /// <summary>The hit-ratio window: 5 minutes.</summary>
    public static readonly TimeSpan HitRatioWindow = TimeSpan.FromMinutes(5);

    /// <summary>How often <c>CONFIG GET maxmemory*</c> runs: every minute (sooner when <c>INFO</c> shows a change).</summary>
    public static readonly TimeSpan ConfigRefreshInterval = TimeSpan.FromMinutes(1);

    /// <summary>Keys asked for per <c>SCAN</c> step and unlinked per <c>UNLINK</c>: 250.</summary>
    public const int EvictBatchSize = 250;

    /// <summary>The most keys one <c>redis.evict-prefix</c> heal unlinks: 10 000.</summary>
    public const int EvictMaxKeys = 10_000;

    /// <summary>The database <c>redis.evict-prefix</c> scans: -1, the connection's default database.</summary>
    public const int Database = -1;
}
