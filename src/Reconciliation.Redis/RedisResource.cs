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
    private LiveSnapshot? _live;
    private LiveSnapshot? _ownWrite;
    private string? _refused;
    private string? _conflict;

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

    /// <summary>Whether anything is declared, so the drift contract applies.</summary>
    public bool HasContract => DeclaredPolicy is not null || Options.MaxMemory is not null;

    /// <summary>The application's connection (replaced by <c>redis.reconnect</c> through the host's factory).</summary>
    public IConnectionMultiplexer Application => Volatile.Read(ref _application);

    public void ReplaceApplication(IConnectionMultiplexer connection) => Volatile.Write(ref _application, connection);

    /// <summary>The live values from the last <c>INFO</c>, or null before the first reading.</summary>
    public LiveSnapshot? Live
    {
        get
        {
            lock (_configGate)
            {
                return _live;
            }
        }
    }

    /// <summary>The reason <c>CONFIG SET</c> was last refused (renamed, disabled, ACL), or null.</summary>
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

    /// <summary>What another client set back after this app's own write, or null while there is no conflict.</summary>
    public string? Conflict
    {
        get
        {
            lock (_configGate)
            {
                return _conflict;
            }
        }
    }

    /// <summary>
    /// Records the live values one <c>INFO</c> showed. When they differ from what this app's own <c>redis.set-policy</c>
    /// last wrote, another client changed them after the heal: a conflict, latched until the live values match the declared
    /// ones again (someone agreed, or an operator settled it). A restart from a redis.conf with other values reads the same
    /// way: something other than this app set them, so the healer stops and reports instead of fighting.
    /// </summary>
    public void ObserveLive(string? policy, long? maxMemory, long usedMemory)
    {
        lock (_configGate)
        {
            _live = new LiveSnapshot(policy, maxMemory, usedMemory, Time.GetUtcNow());
            if (Drift(policy, maxMemory) is 0)
            {
                _conflict = null;
                return;
            }

            if (_ownWrite is { } written && ((written.Policy is not null && !string.Equals(written.Policy, policy, StringComparison.Ordinal))
                || (written.MaxMemory is not null && written.MaxMemory != maxMemory)))
            {
                _conflict = $"another client set maxmemory-policy {policy ?? "(unknown)"}, maxmemory {maxMemory?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)"} after this app's heal";
                _ownWrite = null;
            }
        }
    }

    /// <summary>Records what <c>redis.set-policy</c> wrote, so a later flip back by someone else is seen as a conflict.</summary>
    public void RecordOwnWrite(string? policy, long? maxMemory)
    {
        lock (_configGate)
        {
            _ownWrite = new LiveSnapshot(policy, maxMemory, -1, Time.GetUtcNow());
            _refused = null;
        }
    }

    public void RecordRefused(string reason)
    {
        lock (_configGate)
        {
            _refused = reason;
        }
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

    /// <summary>The eviction settings and memory use one <c>INFO</c> showed.</summary>
    internal sealed record LiveSnapshot(string? Policy, long? MaxMemory, long UsedMemory, DateTimeOffset ReadAt);
}
