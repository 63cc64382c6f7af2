namespace Reconciliation.Redis;

/// <summary>Names of the signals the Redis probe writes (the public contract rules refer to).</summary>
public static class RedisSignalNames
{
    /// <summary>Keyspace hits / (hits + misses) over <see cref="RedisReconciliationOptions.HitRatioWindow"/>, 0..1; no reading without traffic in the window.</summary>
    public const string HitRatio = "redis.cache.hit_ratio";

    /// <summary><c>used_memory</c> / <c>maxmemory</c>, 0..1 (may exceed 1 briefly); no reading when <c>maxmemory</c> is 0.</summary>
    public const string MemoryUsage = "redis.memory.usage";

    /// <summary>Keys evicted per second since the previous reading.</summary>
    public const string EvictionsRate = "redis.evictions.rate";

    /// <summary><c>connected_clients</c> / <c>maxclients</c>, 0..1.</summary>
    public const string ClientsUsage = "redis.clients.usage";

    /// <summary>Round trip of the probe's <c>INFO</c> command, seconds.</summary>
    public const string Latency = "redis.latency";

    /// <summary>1 while the live <c>maxmemory-policy</c> (and <c>maxmemory</c>, when declared) differ from the declared values, 0 when they match.</summary>
    public const string PolicyDrift = "redis.policy.drift";

    /// <summary>
    /// 1 while another client has set <c>maxmemory-policy</c> or <c>maxmemory</c> back after this app's own
    /// <c>redis.set-policy</c> (two owners fighting): the healer then stops rather than flip it back; 0 otherwise.
    /// Cleared when the live values match the declared ones again.
    /// </summary>
    public const string PolicyConflict = "redis.policy.conflict";
}
