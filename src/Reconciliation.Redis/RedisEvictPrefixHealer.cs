using System.Text;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// <c>redis.evict-prefix</c> (destructive, opt-in): removes the keys under <see cref="RedisReconciliationOptions.EvictPrefix"/>
/// with <c>SCAN MATCH</c> + <c>UNLINK</c> in batches of <see cref="RedisReconciliationOptions.EvictBatchSize"/>, at most
/// <see cref="RedisReconciliationOptions.EvictMaxKeys"/> keys per heal (or the policy's <see cref="HealContext.MaxTargets"/>
/// when smaller). Never <c>KEYS</c> (it blocks the server), never
/// <c>FLUSHALL</c>/<c>FLUSHDB</c> (they wipe every tenant's data): only what is ours goes, and the server keeps serving between batches.
/// On a Redis Cluster every primary owning slots is scanned on its own and keys are unlinked one per command.
/// </summary>
internal sealed class RedisEvictPrefixHealer : IHealer
{
    private readonly RedisResource _resource;
    private readonly string? _prefix;
    private readonly string? _pattern;

    public RedisEvictPrefixHealer(RedisResource resource)
    {
        _resource = resource;
        _prefix = resource.Options.EvictPrefix;
        _pattern = _prefix is null ? null : EscapeGlob(_prefix) + "*";
    }

    public string Name => RedisHealerNames.EvictPrefix;

    public bool IsDestructive => true;

    public HealScope Scope => HealScope.SharedResource;

    /// <summary>Applies only to its resource, and only when a prefix is configured (without one there is nothing that is ours to remove).</summary>
    public bool AppliesTo(string resource) => _prefix is not null && string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    public string DescribePlan(HealContext context) =>
        $"SCAN MATCH '{_pattern}' and UNLINK up to {MaxKeys(context)} keys in batches of {_resource.Options.EvictBatchSize} on Redis resource '{_resource.Name}'";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (_prefix is null || _pattern is null)
        {
            return HealOutcome.Skipped($"no EvictPrefix is configured for Redis resource '{_resource.Name}'");
        }

        var options = _resource.Options;
        var maxKeys = MaxKeys(context);
        var connection = await _resource.Admin.GetAsync(cancellationToken).ConfigureAwait(false);
        if (Array.Exists(connection.GetServers(), static s => s.ServerType == ServerType.Cluster))
        {
            return await EvictFromClusterAsync(connection, maxKeys, cancellationToken).ConfigureAwait(false);
        }

        var database = connection.GetDatabase(options.Database);
        var batch = new List<RedisKey>(options.EvictBatchSize);
        long removed = 0;
        var batches = 0;
        var cursor = "0";
        var complete = false;
        try
        {
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                var reply = await database.ExecuteAsync("SCAN", cursor, "MATCH", _pattern, "COUNT", options.EvictBatchSize).WaitAsync(cancellationToken).ConfigureAwait(false);
                var parts = (RedisResult[])reply!;
                cursor = (string)parts[0]!;
                foreach (var key in (RedisKey[])parts[1]!)
                {
                    // SCAN MATCH is a glob; the literal prefix check is the last word on what is ours.
                    if (key.ToString().StartsWith(_prefix, StringComparison.Ordinal))
                    {
                        batch.Add(key);
                    }
                }

                while (batch.Count >= options.EvictBatchSize || (batch.Count > 0 && (cursor == "0" || removed + batch.Count >= maxKeys)))
                {
                    var take = (int)Math.Min(Math.Min(batch.Count, options.EvictBatchSize), maxKeys - removed);
                    removed += await UnlinkAsync(database, batch, take, cancellationToken).ConfigureAwait(false);
                    batch.RemoveRange(0, take);
                    batches++;
                    if (removed >= maxKeys)
                    {
                        batch.Clear();
                        break;
                    }
                }

                complete = cursor == "0";
            }
            while (!complete && removed < maxKeys);
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            return HealOutcome.Failed($"Redis refused SCAN or UNLINK ({RedisErrors.Reason(e)}): the user needs +scan and +unlink on the prefix's keys; {removed} keys were unlinked");
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
            return HealOutcome.Failed($"stopped after {removed} keys: {RedisErrors.Describe(e)}");
        }

        Log.PrefixEvicted(_resource.Logger, _resource.Name, removed, _prefix, batches, complete);
        if (removed == 0)
        {
            return HealOutcome.Skipped($"no keys under the prefix '{_prefix}'");
        }

        return HealOutcome.Healed(complete
            ? $"unlinked {removed} keys under '{_prefix}'"
            : $"unlinked {removed} keys under '{_prefix}' (the per-heal cap of {maxKeys} keys bound: EvictMaxKeys or MaxTargets; more may remain for the next heal)");
    }

    /// <summary>
    /// Redis Cluster: SCAN reaches one node, and a multi-key UNLINK across slots is refused, so every connected primary is
    /// scanned on its own and each key is unlinked by itself (routed to its slot's owner). A primary that is not connected
    /// makes the heal refuse up front: a partial sweep reported as complete would mislead.
    /// </summary>
    private async Task<HealOutcome> EvictFromClusterAsync(IConnectionMultiplexer connection, int maxKeys, CancellationToken cancellationToken)
    {
        var options = _resource.Options;
        // The primaries are the nodes the cluster's own configuration lists as primaries owning slots.
        var servers = connection.GetServers();
        var configuration = Array.Find(servers, static s => s.IsConnected && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        var primaries = configuration is null
            ? []
            : configuration.Nodes.Where(static n => !n.IsReplica && n.Slots.Count > 0 && n.EndPoint is not null).Select(n => connection.GetServer(n.EndPoint!)).ToArray();
        if (primaries.Length == 0 || Array.Exists(primaries, static s => !s.IsConnected))
        {
            var refusal = $"Redis resource '{_resource.Name}' is a Redis Cluster and not every primary owning slots is connected ({string.Join(", ", primaries.Where(static s => !s.IsConnected).Select(static s => s.EndPoint.ToString()))}): redis.evict-prefix refuses to sweep part of the cluster (no key was touched)";
            Log.EvictPrefixClusterRefused(_resource.Logger, _resource.Name, refusal);
            return HealOutcome.Skipped(refusal);
        }

        var database = connection.GetDatabase(options.Database);
        long removed = 0;
        var batches = 0;
        var complete = true;
        try
        {
            foreach (var server in primaries)
            {
                var cursor = "0";
                do
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var reply = await server.ExecuteAsync("SCAN", cursor, "MATCH", _pattern!, "COUNT", options.EvictBatchSize).WaitAsync(cancellationToken).ConfigureAwait(false);
                    var parts = (RedisResult[])reply!;
                    cursor = (string)parts[0]!;
                    var unlinks = new List<Task<RedisResult>>();
                    foreach (var key in (RedisKey[])parts[1]!)
                    {
                        if (!key.ToString().StartsWith(_prefix!, StringComparison.Ordinal))
                        {
                            continue;
                        }

                        if (removed + unlinks.Count >= maxKeys)
                        {
                            complete = false;
                            break;
                        }

                        unlinks.Add(database.ExecuteAsync("UNLINK", key));
                    }

                    foreach (var unlink in unlinks)
                    {
                        removed += (long)await unlink.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }

                    batches += unlinks.Count > 0 ? 1 : 0;
                }
                while (cursor != "0" && complete);

                if (!complete)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (RedisErrors.IsRefused(e))
        {
            return HealOutcome.Failed($"Redis refused SCAN or UNLINK ({RedisErrors.Reason(e)}): the user needs +scan and +unlink on the prefix's keys; {removed} keys were unlinked");
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
            return HealOutcome.Failed($"stopped after {removed} keys: {RedisErrors.Describe(e)}");
        }

        Log.PrefixEvicted(_resource.Logger, _resource.Name, removed, _prefix!, batches, complete);
        if (removed == 0)
        {
            return HealOutcome.Skipped($"no keys under the prefix '{_prefix}' on any of the cluster's {primaries.Length} primaries");
        }

        return HealOutcome.Healed(complete
            ? $"unlinked {removed} keys under '{_prefix}' across the cluster's {primaries.Length} primaries (one key per UNLINK)"
            : $"unlinked {removed} keys under '{_prefix}' across the cluster's primaries (the per-heal cap of {maxKeys} keys bound: EvictMaxKeys or MaxTargets; more may remain for the next heal)");
    }

    private int MaxKeys(HealContext context) =>
        context.MaxTargets is int cap ? Math.Min(cap, _resource.Options.EvictMaxKeys) : _resource.Options.EvictMaxKeys;

    private static async Task<long> UnlinkAsync(IDatabase database, List<RedisKey> batch, int take, CancellationToken cancellationToken)
    {
        var arguments = new object[take];
        for (var i = 0; i < take; i++)
        {
            arguments[i] = batch[i];
        }

        var reply = await database.ExecuteAsync("UNLINK", arguments).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (long)reply;
    }

    /// <summary>Escapes the glob characters of a literal prefix for <c>SCAN MATCH</c>.</summary>
    internal static string EscapeGlob(string literal)
    {
        var builder = new StringBuilder(literal.Length + 8);
        foreach (var c in literal)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
