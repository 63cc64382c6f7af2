using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// Options of one Redis resource (<c>AddRedis(multiplexer, o =&gt; ...)</c>, or bound from a configuration section).
/// Validated at start; a bad value fails start with its key named. Read once at start (not reloaded).
/// </summary>
public sealed class RedisReconciliationOptions
{
    /// <summary>
    /// The declared <c>maxmemory-policy</c> (<c>allkeys-lru</c>, <c>volatile-lfu</c>, ...). When set, <c>redis.policy.drift</c>
    /// compares the live value (from <c>INFO</c>) with it; <c>redis.set-policy</c> restores it only when
    /// <see cref="OwnsMaxMemoryPolicy"/> is true. Default: not declared (no drift reading).
    /// </summary>
    public string? MaxMemoryPolicy { get; set; }

    /// <summary>
    /// True when this app OWNS <c>maxmemory-policy</c> and <c>maxmemory</c> on this server (no other application depends on
    /// them): only then does <c>redis.set-policy</c> write them. Default false: drift is detected and reported, never
    /// corrected, so a shared Redis whose <c>noeviction</c> another application's job queue depends on is never overwritten.
    /// </summary>
    public bool OwnsMaxMemoryPolicy { get; set; }

    /// <summary>The declared <c>maxmemory</c> in bytes (0 = no limit). Default: not declared (not compared, not restored).</summary>
    public long? MaxMemory { get; set; }

    /// <summary>The sliding window <c>redis.cache.hit_ratio</c> is computed over (on the <see cref="TimeProvider"/> clock). Default 5 minutes.</summary>
    public TimeSpan HitRatioWindow { get; set; } = RedisReconciliationDefaults.HitRatioWindow;

    /// <summary>
    /// Kept for compatibility; no longer used: the probe reads <c>maxmemory_policy</c> and <c>maxmemory</c> from the
    /// tick's <c>INFO</c>, so it needs no <c>CONFIG GET</c> at all. Default 1 minute.
    /// </summary>
    public TimeSpan ConfigRefreshInterval { get; set; } = RedisReconciliationDefaults.ConfigRefreshInterval;

    /// <summary>
    /// The key prefix <c>redis.evict-prefix</c> removes (<c>myapp:cache:</c>). Without it the healer does not apply to this resource.
    /// Matched literally (glob characters are escaped); never empty, so the healer can never remove every key.
    /// </summary>
    public string? EvictPrefix { get; set; }

    /// <summary>Keys asked for per <c>SCAN</c> step and unlinked per <c>UNLINK</c> (1..10 000). Default 250.</summary>
    public int EvictBatchSize { get; set; } = RedisReconciliationDefaults.EvictBatchSize;

    /// <summary>The most keys one <c>redis.evict-prefix</c> heal unlinks (1..10 000 000). Default 10 000.</summary>
    public int EvictMaxKeys { get; set; } = RedisReconciliationDefaults.EvictMaxKeys;

    /// <summary>The database <c>redis.evict-prefix</c> scans; -1 is the connection's default. Default -1.</summary>
    public int Database { get; set; } = RedisReconciliationDefaults.Database;

    /// <summary>
    /// Builds the adapter's admin connection (it needs <c>INFO</c> and <c>CONFIG</c>). Default: the application
    /// multiplexer's <see cref="IConnectionMultiplexer.Configuration"/> with <c>AllowAdmin = true</c>. Give one when the
    /// application's connection carries settings a configuration string cannot (certificate callbacks, a custom socket manager).
    /// The adapter owns and disposes what this returns.
    /// </summary>
    public Func<CancellationToken, Task<IConnectionMultiplexer>>? AdminConnectionFactory { get; set; }

    /// <summary>
    /// Builds a new application connection for <c>redis.reconnect</c> when the current one has failed. The host publishes it to
    /// its own code (for example by swapping it into the holder it resolves connections from) and disposes the old one if it
    /// wants to; the adapter then uses the new one. Without it, <c>redis.reconnect</c> rebuilds only the adapter's admin connection.
    /// </summary>
    public Func<CancellationToken, Task<IConnectionMultiplexer>>? ConnectionFactory { get; set; }

    /// <summary>The configuration path the options came from, for error messages that name the full key.</summary>
    internal string ConfigurationPath { get; set; } = "Redis:" + RedisReconciliationDefaults.ResourceName;
}
