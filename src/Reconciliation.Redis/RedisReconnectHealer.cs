using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// <c>redis.reconnect</c>: rebuilds a failed connection of this process. The adapter's admin connection is rebuilt when it
/// is not connected or does not answer <c>PING</c>; the application's connection is rebuilt through the host's
/// <see cref="RedisReconciliationOptions.ConnectionFactory"/> when it is not connected. Connections that answer are left alone.
/// </summary>
internal sealed class RedisReconnectHealer : IHealer
{
    private const string AdminConnection = "admin";
    private const string ApplicationConnection = "application";
    private readonly RedisResource _resource;

    public RedisReconnectHealer(RedisResource resource) => _resource = resource;

    public string Name => RedisHealerNames.Reconnect;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.Process;

    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    public string DescribePlan(HealContext context) => _resource.Options.ConnectionFactory is null
        ? $"rebuild this process's admin connection to Redis resource '{_resource.Name}' if it does not answer"
        : $"rebuild this process's admin connection, and the application's through its ConnectionFactory, to Redis resource '{_resource.Name}' where they do not answer";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        var rebuilt = new List<string>(2);
        var failures = new List<string>(2);
        var notes = new List<string>(1);

        var application = _resource.Application;
        if (!application.IsConnected)
        {
            if (_resource.Options.ConnectionFactory is { } factory)
            {
                try
                {
                    var fresh = await factory(cancellationToken).ConfigureAwait(false)
                        ?? throw new InvalidOperationException("the ConnectionFactory returned null");
                    _resource.ReplaceApplication(fresh);
                    Log.ConnectionRebuilt(_resource.Logger, _resource.Name, ApplicationConnection);
                    rebuilt.Add(ApplicationConnection);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    var reason = RedisErrors.Describe(e);
                    Log.ConnectionRebuildFailed(_resource.Logger, _resource.Name, ApplicationConnection, reason);
                    failures.Add($"{ApplicationConnection}: {reason}");
                }
            }
            else
            {
                notes.Add("the application's connection is down and no ConnectionFactory is configured to rebuild it");
            }
        }

        var admin = _resource.Admin.Current;
        if (admin is null || !await AnswersAsync(admin, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var fresh = await _resource.Admin.RebuildAsync(cancellationToken).ConfigureAwait(false);
                if (await AnswersAsync(fresh, cancellationToken).ConfigureAwait(false))
                {
                    Log.ConnectionRebuilt(_resource.Logger, _resource.Name, AdminConnection);
                    rebuilt.Add(AdminConnection);
                }
                else
                {
                    const string reason = "rebuilt, but the server does not answer PING";
                    Log.ConnectionRebuildFailed(_resource.Logger, _resource.Name, AdminConnection, reason);
                    failures.Add($"{AdminConnection}: {reason}");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var reason = RedisErrors.Describe(e);
                Log.ConnectionRebuildFailed(_resource.Logger, _resource.Name, AdminConnection, reason);
                failures.Add($"{AdminConnection}: {reason}");
            }
        }

        if (failures.Count > 0)
        {
            return HealOutcome.Failed(string.Join("; ", failures.Concat(notes)));
        }

        if (rebuilt.Count > 0)
        {
            return HealOutcome.Healed($"rebuilt the {string.Join(" and ", rebuilt)} connection{(rebuilt.Count > 1 ? "s" : string.Empty)}");
        }

        return notes.Count > 0 ? HealOutcome.Failed(string.Join("; ", notes)) : HealOutcome.Skipped("the connections answer; nothing to rebuild");
    }

    private static async Task<bool> AnswersAsync(IConnectionMultiplexer connection, CancellationToken cancellationToken)
    {
        if (!connection.IsConnected)
        {
            return false;
        }

        try
        {
            await RedisAdminConnection.PickServer(connection).PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is RedisException or InvalidOperationException)
        {
            return false;
        }
    }
}
