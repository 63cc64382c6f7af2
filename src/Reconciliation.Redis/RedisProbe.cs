using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// Reads one Redis server with ONE <c>INFO</c> round trip per tick: hit ratio over a window, memory, evictions, clients,
/// latency, and <c>redis.policy.drift</c> from INFO's own <c>maxmemory_policy</c> and <c>maxmemory</c> (no <c>CONFIG</c>,
/// so a managed Redis with <c>CONFIG</c> renamed or denied keeps every signal), plus <c>redis.policy.conflict</c>.
/// Never <c>KEYS</c>, never <c>MONITOR</c>. A server that refuses <c>INFO</c> makes the probe unavailable
/// (<c>probe.failed</c> = 1) with the reason.
/// </summary>
internal sealed class RedisProbe : IProbe
{
    internal const int HitRatioIndex = 0;
    internal const int MemoryUsageIndex = 1;
    internal const int EvictionsRateIndex = 2;
    internal const int ClientsUsageIndex = 3;
    internal const int LatencyIndex = 4;
    internal const int PolicyDriftIndex = 5;
    internal const int PolicyConflictIndex = 6;

    private static readonly SignalDescriptor[] Descriptors =
    [
        new(RedisSignalNames.HitRatio, SignalUnits.Ratio, "Keyspace hits / (hits + misses) over the hit-ratio window; no reading without traffic in the window."),
        new(RedisSignalNames.MemoryUsage, SignalUnits.Ratio, "used_memory / maxmemory; no reading when maxmemory is 0 (no limit)."),
        new(RedisSignalNames.EvictionsRate, SignalUnits.PerSecond, "Keys evicted per second since the previous reading."),
        new(RedisSignalNames.ClientsUsage, SignalUnits.Ratio, "connected_clients / maxclients."),
        new(RedisSignalNames.Latency, SignalUnits.Seconds, "Round trip of the probe's INFO command."),
        new(RedisSignalNames.PolicyDrift, SignalUnits.Flag, "1 while the live maxmemory-policy (and maxmemory, when declared) differ from the declared values."),
        new(RedisSignalNames.PolicyConflict, SignalUnits.Flag, "1 while another client has set the policy back after this app's own heal (the healer stops rather than fight)."),
    ];

    private readonly RedisResource _resource;
    private readonly RedisCounterWindow _counters;
    private string? _refusedCommand;

    public RedisProbe(RedisResource resource)
    {
        _resource = resource;
        _counters = new RedisCounterWindow(resource.Options.HitRatioWindow);
    }

    public string Resource => _resource.Name;

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var time = _resource.Time;
        var connection = await _resource.Admin.GetAsync(cancellationToken).ConfigureAwait(false);
        var server = RedisAdminConnection.PickServer(connection);

        var started = time.GetTimestamp();
        string? raw;
        try
        {
            raw = await server.InfoRawAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            throw Refused("INFO", RedisErrors.Reason(e));
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw RedisErrors.Concise(e, _resource.Name, "INFO");
        }

        var latency = time.GetElapsedTime(started);
        if (string.IsNullOrEmpty(raw))
        {
            throw new InvalidOperationException($"Redis resource '{_resource.Name}' answered INFO with nothing.");
        }

        var info = RedisInfo.Parse(raw);
        writer.Write(LatencyIndex, latency.TotalSeconds);
        if (info.UsedMemory >= 0 && info.MaxMemory > 0)
        {
            writer.Write(MemoryUsageIndex, (double)info.UsedMemory / info.MaxMemory);
        }

        if (info.ConnectedClients >= 0 && info.MaxClients > 0)
        {
            writer.Write(ClientsUsageIndex, (double)info.ConnectedClients / info.MaxClients);
        }

        var readings = _counters.Add(time.GetUtcNow(), info, out var resetCause);
        if (resetCause is not null)
        {
            Log.CountersReset(_resource.Logger, _resource.Name, resetCause);
        }

        if (readings.HitRatio is { } hitRatio)
        {
            writer.Write(HitRatioIndex, hitRatio);
        }

        if (readings.EvictionsRate is { } evictionsRate)
        {
            writer.Write(EvictionsRateIndex, evictionsRate);
        }

        if (_resource.HasContract)
        {
            var policy = info.MaxMemoryPolicy?.Trim().ToLowerInvariant();
            long? maxMemory = info.MaxMemory >= 0 ? info.MaxMemory : null;
            _resource.ObserveLive(policy, maxMemory, info.UsedMemory);
            if (_resource.Drift(policy, maxMemory) is { } drift)
            {
                writer.Write(PolicyDriftIndex, drift);
            }

            writer.Write(PolicyConflictIndex, _resource.Conflict is null ? 0 : 1);
        }

        if (_refusedCommand is { } allowed)
        {
            _refusedCommand = null;
            Log.AdminCommandAllowed(_resource.Logger, _resource.Name, allowed);
        }
    }

    private RedisAdminCommandRefusedException Refused(string command, string reason)
    {
        if (!string.Equals(_refusedCommand, command, StringComparison.Ordinal))
        {
            // One line per state change, not one per tick.
            _refusedCommand = command;
            Log.AdminCommandRefused(_resource.Logger, _resource.Name, command, reason);
        }

        return new RedisAdminCommandRefusedException(_resource.Name, command, reason);
    }
}
