namespace Reconciliation.Redis;

/// <summary>Defaults, bounds and key names of the Redis coordination store.</summary>
internal static class RedisCoordinationDefaults
{
    public const string KeyPrefix = "reconciliation:";
    public const int KeyPrefixMaxLength = 100;
    public static readonly TimeSpan LeaseTimeToLive = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MinLeaseTimeToLive = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxLeaseTimeToLive = TimeSpan.FromMinutes(10);
    public const int JournalMaxLength = 10_000;
    public const int MinJournalMaxLength = 100;
    public const int MaxJournalMaxLength = 1_000_000;
    public const int Database = -1;

    /// <summary>The client name of the connection the store opens from a configuration string.</summary>
    public const string ClientName = "reconciliation-coordination";

    /// <summary>What a command failure names as the resource in its (concise) message.</summary>
    public const string ResourceName = "coordination";

    // Key names under the prefix.
    public const string LeaseKey = "lease:";
    public const string FenceKey = "fence:";
    public const string JournalKey = "journal";
    public const string JournalIdsKey = "journal:ids";
    public const string StateKey = "state:";

    /// <summary>The operator controls' hash (fields <c>version</c> and <c>document</c>).</summary>
    public const string ControlKey = "controls";
}
