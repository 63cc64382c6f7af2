using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// <c>redis.set-policy</c>: <c>CONFIG SET</c> the declared <c>maxmemory-policy</c> (and <c>maxmemory</c>) back, then reads
/// them back with <c>CONFIG GET</c>. A server that refuses <c>CONFIG</c> (renamed, disabled, ACL) gives a clear
/// <see cref="HealOutcomeKind.Failed"/> outcome, never an exception; the engine's backoff then spaces the attempts.
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

        return parts.Count == 0
            ? $"nothing: no MaxMemoryPolicy or MaxMemory is declared for Redis resource '{_resource.Name}'"
            : $"CONFIG SET {string.Join(" and ", parts)} on Redis resource '{_resource.Name}'";
    }

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (!_resource.HasContract)
        {
            return HealOutcome.Skipped($"no MaxMemoryPolicy or MaxMemory is declared for Redis resource '{_resource.Name}'");
        }

        var connection = await _resource.Admin.GetAsync(cancellationToken).ConfigureAwait(false);
        var server = RedisAdminConnection.PickServer(connection);
        string? command = "CONFIG GET";
        try
        {
            var before = await _resource.ReadConfigAsync(server, cancellationToken).ConfigureAwait(false);
            var changes = new List<string>(2);
            command = "CONFIG SET";
            if (_resource.DeclaredPolicy is { } policy && !string.Equals(before.Policy, policy, StringComparison.Ordinal))
            {
                await server.ConfigSetAsync(PolicyParameter, policy).WaitAsync(cancellationToken).ConfigureAwait(false);
                Log.ConfigSet(_resource.Logger, _resource.Name, PolicyParameter, before.Policy ?? "(unknown)", policy);
                changes.Add($"{PolicyParameter} {before.Policy ?? "(unknown)"} -> {policy}");
            }

            if (_resource.Options.MaxMemory is { } bytes && before.MaxMemory != bytes)
            {
                var value = bytes.ToString(CultureInfo.InvariantCulture);
                await server.ConfigSetAsync(MaxMemoryParameter, value).WaitAsync(cancellationToken).ConfigureAwait(false);
                var old = before.MaxMemory?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)";
                Log.ConfigSet(_resource.Logger, _resource.Name, MaxMemoryParameter, old, value);
                changes.Add($"{MaxMemoryParameter} {old} -> {value}");
            }

            command = "CONFIG GET";
            var after = await _resource.ReadConfigAsync(server, cancellationToken).ConfigureAwait(false);
            if (_resource.Drift(after.Policy, after.MaxMemory) is not 0)
            {
                return HealOutcome.Failed(
                    $"CONFIG SET was accepted but CONFIG GET reads {PolicyParameter} {after.Policy ?? "(unknown)"}, {MaxMemoryParameter} {after.MaxMemory?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)"}");
            }

            return changes.Count == 0
                ? HealOutcome.Skipped("the live values already match the declared ones")
                : HealOutcome.Healed(string.Join("; ", changes));
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            var reason = $"Redis refused {command} ({RedisErrors.Reason(e)}): CONFIG is renamed, disabled or not permitted for this user (it needs +config|get and +config|set)";
            Log.SetPolicyRefused(_resource.Logger, _resource.Name, reason);
            return HealOutcome.Failed(reason);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
            return HealOutcome.Failed($"{command} failed: {RedisErrors.Describe(e)}");
        }
    }
}
