namespace Reconciliation.Redis;

/// <summary>
/// Options of the Redis coordination store (<c>UseRedisCoordination(configuration, o =&gt; ...)</c>): the fleet's heal
/// journal, shared-resource lease and rule state kept on one Redis. Validated at start; a bad value fails start naming
/// its key (<c>Reconciliation:Coordination:Redis:KeyPrefix</c>, ...).
/// </summary>
public sealed class RedisCoordinationOptions
{
    /// <summary>The configuration path the keys of these options are named under in error messages.</summary>
    internal const string SectionPath = "Reconciliation:Coordination:Redis";

    /// <summary>
    /// The prefix of every key the store writes (1 to 100 printable characters, no white space). Default
    /// <c>reconciliation:</c>. On a Redis Cluster it must hold a hash tag (<c>{reconciliation}:</c>) so that all of the
    /// store's keys live in one slot: the journal's script touches the stream, its id set and a resource's token counter
    /// at once. Give each fleet (each application sharing one Redis) its own prefix.
    /// </summary>
    public string KeyPrefix { get; set; } = RedisCoordinationDefaults.KeyPrefix;

    /// <summary>
    /// The lease's time to live on the server (1 second to 10 minutes). Default 30 seconds. The holder renews it every
    /// third of it while the heal runs; a holder that cannot renew (a pause, a lost connection) gives it up before the
    /// server lets another holder take it, and no one else takes it before the time to live has passed.
    /// </summary>
    /// <value>From <c>00:00:01</c> to <c>00:10:00</c>.</value>
    public TimeSpan LeaseTimeToLive { get; set; } = RedisCoordinationDefaults.LeaseTimeToLive;

    /// <summary>
    /// About how many records the journal stream keeps (<c>XADD MAXLEN ~</c>: the server trims whole nodes, so it may
    /// hold up to about a hundred more), 100 to 1,000,000. Default 10,000. Counts and the history read the newest this many.
    /// </summary>
    public int JournalMaxLength { get; set; } = RedisCoordinationDefaults.JournalMaxLength;

    /// <summary>The database number; -1 is the connection's default. Default -1.</summary>
    public int Database { get; set; } = RedisCoordinationDefaults.Database;

    /// <summary>The StackExchange.Redis configuration string when the store connects on its own (holds the password: never shown).</summary>
    internal string? Configuration { get; set; }
}
