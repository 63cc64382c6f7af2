using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// <c>redis.set-policy</c>: <c>CONFIG SET</c> the declared <c>maxmemory-policy</c> (and <c>maxmemory</c>) back, only when
/// the app declares it owns them (<see cref="RedisReconciliationOptions.OwnsMaxMemoryPolicy"/>); otherwise drift is
/// reported and left alone. It stops rather than fight when another client set the values back after its own heal
/// (<c>redis.policy.conflict</c>), refuses a <c>maxmemory</c> below <c>used_memory</c> (Redis would evict at once), and
/// reports a server that refuses <c>CONFIG</c> (renamed, disabled, ACL) as not permitted: a clear
/// <see cref="HealOutcomeKind.Skipped"/> outcome, never an exception. Current values are read from <c>INFO memory</c>.
/// The change is not written to redis.conf (no <c>CONFIG REWRITE</c>): a restart from the file brings the drift back and the probe sees it.
/// </summary>
internal sealed class RedisSetPolicyHealer : IHealer
{
    private const string PolicyParameter = "maxmemory-policy";
    private const string MaxMemoryParameter = "maxmemory";
    private readonly RedisResource _resource;

    public RedisSetPolicyHealer(RedisResource resource) => _resource = resource;

    public string Name => RedisHealerNames.SetPolicy;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.SharedResource;

    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    public string DescribePlan(HealContext context)
    {
        var parts = new List<string>(2);
        if (_resource.DeclaredPolicy is { } policy)
        {
            parts.Add($"{PolicyParameter} {policy}");
        }

        if (_resource.Options.MaxMemory is { } bytes)
        {
            parts.Add($"{MaxMemoryParameter} {bytes.ToString(CultureInfo.InvariantCulture)}");
        }

        if (parts.Count == 0)
        {
            return $"nothing: no MaxMemoryPolicy or MaxMemory is declared for Redis resource '{_resource.Name}'";
        }

        return _resource.Options.OwnsMaxMemoryPolicy
            ? $"CONFIG SET {string.Join(" and ", parts)} on Redis resource '{_resource.Name}'"
            : $"nothing: report the drift from {string.Join(" and ", parts)} on Redis resource '{_resource.Name}' (the app does not own the setting)";
    }

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (!_resource.HasContract)
        {
            return HealOutcome.Skipped($"no MaxMemoryPolicy or MaxMemory is declared for Redis resource '{_resource.Name}'");
        }

        if (!_resource.Options.OwnsMaxMemoryPolicy)
        {
            return HealOutcome.Skipped(
                $"Redis resource '{_resource.Name}': this app does not own maxmemory-policy/maxmemory (OwnsMaxMemoryPolicy is false), so the drift is reported, never corrected: another application on the server may depend on the current value");
        }

        if (_resource.Conflict is { } conflict)
        {
            var reason = $"conflict on Redis resource '{_resource.Name}': {conflict}; not fighting over it (settle which application owns the setting; the conflict clears when the live values match the declared ones)";
            Log.SetPolicyConflict(_resource.Logger, _resource.Name, reason);
            return HealOutcome.Skipped(reason);
        }

        var connection = await _resource.Admin.GetAsync(cancellationToken).ConfigureAwait(false);
        var server = RedisAdminConnection.PickServer(connection);
        var command = "INFO memory";
        try
        {
            var before = await ReadAsync(server, cancellationToken).ConfigureAwait(false);
            if (_resource.Options.MaxMemory is > 0 and var limit && before.UsedMemory > limit && before.MaxMemory != limit)
            {
                return HealOutcome.Failed(string.Create(CultureInfo.InvariantCulture,
                    $"refusing to set {MaxMemoryParameter} {limit} below used_memory {before.UsedMemory} on Redis resource '{_resource.Name}': Redis would evict (or refuse writes) at once"));
            }

            var changes = new List<string>(2);
            command = "CONFIG SET";
            var livePolicy = before.MaxMemoryPolicy?.Trim().ToLowerInvariant();
            if (_resource.DeclaredPolicy is { } policy && !string.Equals(livePolicy, policy, StringComparison.Ordinal))
            {
                await server.ConfigSetAsync(PolicyParameter, policy).WaitAsync(cancellationToken).ConfigureAwait(false);
                Log.ConfigSet(_resource.Logger, _resource.Name, PolicyParameter, livePolicy ?? "(unknown)", policy);
                changes.Add($"{PolicyParameter} {livePolicy ?? "(unknown)"} -> {policy}");
            }

            if (_resource.Options.MaxMemory is { } bytes && before.MaxMemory != bytes)
            {
                var value = bytes.ToString(CultureInfo.InvariantCulture);
                await server.ConfigSetAsync(MaxMemoryParameter, value).WaitAsync(cancellationToken).ConfigureAwait(false);
                var old = before.MaxMemory >= 0 ? before.MaxMemory.ToString(CultureInfo.InvariantCulture) : "(unknown)";
                Log.ConfigSet(_resource.Logger, _resource.Name, MaxMemoryParameter, old, value);
                changes.Add($"{MaxMemoryParameter} {old} -> {value}");
            }

            command = "INFO memory";
            var after = await ReadAsync(server, cancellationToken).ConfigureAwait(false);
            var afterPolicy = after.MaxMemoryPolicy?.Trim().ToLowerInvariant();
            long? afterMax = after.MaxMemory >= 0 ? after.MaxMemory : null;
            if (_resource.Drift(afterPolicy, afterMax) is not 0)
            {
                return HealOutcome.Failed(
                    $"CONFIG SET was accepted but INFO reads {PolicyParameter} {afterPolicy ?? "(unknown)"}, {MaxMemoryParameter} {afterMax?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)"}");
            }

            if (changes.Count == 0)
            {
                return HealOutcome.Skipped("the live values already match the declared ones");
            }

            _resource.RecordOwnWrite(_resource.DeclaredPolicy, _resource.Options.MaxMemory);
            return HealOutcome.Healed(string.Join("; ", changes));
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            var reason = $"not permitted: Redis refused {command} ({RedisErrors.Reason(e)}): CONFIG is renamed, disabled or not permitted for this user (it needs +config|set); the drift is reported, not corrected";
            _resource.RecordRefused(reason);
            Log.SetPolicyRefused(_resource.Logger, _resource.Name, reason);
            return HealOutcome.Skipped(reason);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
            return HealOutcome.Failed($"{command} failed: {RedisErrors.Describe(e)}");
        }
    }

    private static async Task<RedisInfo> ReadAsync(IServer server, CancellationToken cancellationToken)
    {
        var raw = await server.InfoRawAsync("memory").WaitAsync(cancellationToken).ConfigureAwait(false);
        return RedisInfo.Parse(raw ?? string.Empty);
    }
}
