namespace Reconciliation.TestServers;

/// <summary>How a throwaway Redis is configured.</summary>
public sealed class RedisServerOptions
{
    /// <summary>A password (<c>requirepass</c>); none by default.</summary>
    public string? Password { get; init; }

    /// <summary><c>maxmemory</c> in bytes; 0 (no limit) by default.</summary>
    public long MaxMemoryBytes { get; init; }

    /// <summary><c>maxmemory-policy</c>; Redis's default (<c>noeviction</c>) when null.</summary>
    public string? MaxMemoryPolicy { get; init; }

    /// <summary>Extra <c>--name value</c> settings, e.g. <c>rename-command CONFIG ""</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}
