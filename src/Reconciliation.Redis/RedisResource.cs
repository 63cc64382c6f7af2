using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// One registered Redis server: its name, the application's connection, the adapter's admin connection, the options and
/// the last <c>CONFIG GET</c> reading. The probe and the three healers of the resource share it.
/// </summary>
internal sealed class RedisResource : IAsyncDisposable, IDisposable
{
    private readonly Lock _configGate = new();
    private IConnectionMultiplexer _application;
    private ConfigSnapshot? _config;
    private string? _refused;

    public RedisResource(string name, IConnectionMultiplexer application, RedisReconciliationOptions options, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        _application = application;
        Options = options;
        Time = timeProvider;
        Logger = logger;
        DeclaredPolicy = options.MaxMemoryPolicy?.Trim().ToLowerInvariant();
        Admin = new RedisAdminConnection(name, () => Volatile.Read(ref _application), options.AdminConnectionFactory, logger);
    }

    public string Name { get; }

    public RedisReconciliationOptions Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public RedisAdminConnection Admin { get; }

    /// <summary>The declared policy, normalised, or null.</summary>
    public string? DeclaredPolicy { get; }

    /// <summary>Whether anything is declared, so the drift contract (and <c>CONFIG GET</c>) applies.</summary>
    public bool HasContract => DeclaredPolicy is not null || Options.MaxMemory is not null;

    /// <summary>The application's connection (replaced by <c>redis.reconnect</c> through the host's factory).</summary>
    public IConnectionMultiplexer Application => Volatile.Read(ref _application);

    public void ReplaceApplication(IConnectionMultiplexer connection) => Volatile.Write(ref _application, connection);

    /// <summary>The last <c>CONFIG GET</c> reading, or null.</summary>
    public ConfigSnapshot? Config
    {
        get
        {
            lock (_configGate)
            {
                return _config;
            }
        }
    }

    /// <summary>The reason <c>CONFIG</c> was last refused, or null.</summary>
    public string? ConfigRefused
    {
        get
        {
            lock (_configGate)
            {
                return _refused;
            }
        }
    }

    /// <summary>Reads <c>maxmemory*</c> with one <c>CONFIG GET</c> and keeps it. Throws what the server throws.</summary>
    public async Task<ConfigSnapshot> ReadConfigAsync(IServer server, CancellationToken cancellationToken)
    {
        KeyValuePair<string, string>[] pairs;
        try
        {
            pairs = await server.ConfigGetAsync("maxmemory*").WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            var reason = RedisErrors.Reason(e);
            lock (_configGate)
            {
                _refused = reason;
                _config = new ConfigSnapshot(null, null, Time.GetUtcNow(), reason);
            }

            throw;
        }

        string? policy = null;
        long? maxMemory = null;
        foreach (var pair in pairs)
        {
            if (string.Equals(pair.Key, "maxmemory-policy", StringComparison.OrdinalIgnoreCase))
            {
                policy = pair.Value.Trim().ToLowerInvariant();
            }
            else if (string.Equals(pair.Key, "maxmemory", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(pair.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes))
            {
                maxMemory = bytes;
            }
        }

        var snapshot = new ConfigSnapshot(policy, maxMemory, Time.GetUtcNow(), null);
        lock (_configGate)
        {
            _refused = null;
            _config = snapshot;
        }

        return snapshot;
    }

    /// <summary>1 when the live values differ from the declared ones, 0 when they match, null when unknown.</summary>
    public double? Drift(string? livePolicy, long? liveMaxMemory)
    {
        if (!HasContract || (DeclaredPolicy is not null && livePolicy is null) || (Options.MaxMemory is not null && liveMaxMemory is null))
        {
            return null;
        }

        var drifted = (DeclaredPolicy is not null && !string.Equals(DeclaredPolicy, livePolicy, StringComparison.Ordinal))
            || (Options.MaxMemory is { } declared && declared != liveMaxMemory);
        return drifted ? 1 : 0;
    }

    public ValueTask DisposeAsync() => Admin.DisposeAsync();

    public void Dispose() => Admin.Dispose();

    /// <summary>One <c>CONFIG GET maxmemory*</c> reading; <paramref name="Refused"/> set when the server refused it.</summary>
    internal sealed record ConfigSnapshot(string? Policy, long? MaxMemory, DateTimeOffset ReadAt, string? Refused);
}
