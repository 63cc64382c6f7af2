namespace Reconciliation.Redis;

/// <summary>Names of the Redis healers (the public contract rules refer to in <c>Heal</c>).</summary>
public static class RedisHealerNames
{
    /// <summary><c>CONFIG SET</c> the declared <c>maxmemory-policy</c> (and <c>maxmemory</c>) back on the server.</summary>
    public const string SetPolicy = "redis.set-policy";

    /// <summary>Rebuilds a failed admin connection, and the application's through the host's factory.</summary>
    public const string Reconnect = "redis.reconnect";

    /// <summary>Destructive, opt-in: <c>SCAN</c> + <c>UNLINK</c> of the keys under the configured prefix, in bounded batches.</summary>
    public const string EvictPrefix = "redis.evict-prefix";
}
