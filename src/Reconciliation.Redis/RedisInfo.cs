using System.Globalization;

namespace Reconciliation.Redis;

/// <summary>The few fields of one <c>INFO</c> reply the probe uses; -1 (or null) when the server did not report a field.</summary>
internal readonly record struct RedisInfo
{
    public string? RunId { get; init; }

    public long UsedMemory { get; init; }

    public long MaxMemory { get; init; }

    public string? MaxMemoryPolicy { get; init; }

    public long ConnectedClients { get; init; }

    public long MaxClients { get; init; }

    public long KeyspaceHits { get; init; }

    public long KeyspaceMisses { get; init; }

    public long EvictedKeys { get; init; }

    /// <summary>Parses the raw <c>INFO</c> text (<c>field:value</c> lines, <c># Section</c> headers).</summary>
    public static RedisInfo Parse(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        string? runId = null;
        string? policy = null;
        long usedMemory = -1, maxMemory = -1, connected = -1, maxClients = -1, hits = -1, misses = -1, evicted = -1;

        foreach (var range in raw.AsSpan().Split('\n'))
        {
            var line = raw.AsSpan(range).TrimEnd('\r');
            var colon = line.IndexOf(':');
            if (colon <= 0 || line[0] == '#')
            {
                continue;
            }

            var field = line[..colon];
            var value = line[(colon + 1)..];
            switch (field)
            {
                case "run_id": runId = value.ToString(); break;
                case "used_memory": usedMemory = ParseLong(value); break;
                case "maxmemory": maxMemory = ParseLong(value); break;
                case "maxmemory_policy": policy = value.ToString(); break;
                case "connected_clients": connected = ParseLong(value); break;
                case "maxclients": maxClients = ParseLong(value); break;
                case "keyspace_hits": hits = ParseLong(value); break;
                case "keyspace_misses": misses = ParseLong(value); break;
                case "evicted_keys": evicted = ParseLong(value); break;
                default: break;
            }
        }

        return new RedisInfo
        {
            RunId = runId,
            UsedMemory = usedMemory,
            MaxMemory = maxMemory,
            MaxMemoryPolicy = policy,
            ConnectedClients = connected,
            MaxClients = maxClients,
            KeyspaceHits = hits,
            KeyspaceMisses = misses,
            EvictedKeys = evicted,
        };
    }

    private static long ParseLong(ReadOnlySpan<char> value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var result) ? result : -1;
}
