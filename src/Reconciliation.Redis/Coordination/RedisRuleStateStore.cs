using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// Each replica's rule state on Redis: one key per replica (<c>{prefix}state:{replica}</c>) holding the snapshot as JSON,
/// with no expiry, so a replica that restarts under the same <see cref="ReconciliationOptions.ReplicaId"/> resumes its
/// open violations, heal progress and <c>For</c> timers.
/// </summary>
public sealed class RedisRuleStateStore : IRuleStateStore
{
    private readonly RedisCoordinationStore _store;

    /// <summary>Creates the state store on <paramref name="connection"/> (not disposed by it).</summary>
    /// <param name="connection">The Redis connection.</param>
    /// <param name="options">The key prefix and the database.</param>
    public RedisRuleStateStore(IConnectionMultiplexer connection, RedisCoordinationOptions options)
        : this(RedisCoordinationStore.ForConnection(Checked(connection), options))
    {
    }

    internal RedisRuleStateStore(RedisCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public async ValueTask<RuleStateSnapshot> LoadAsync(string replica, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        var json = await _store.RunAsync("GET of the rule state", db => db.StringGetAsync(_store.StateKey(replica)), cancellationToken).ConfigureAwait(false);
        return json.IsNullOrEmpty ? RuleStateSnapshot.Empty : RuleStateSnapshot.FromJson(json.ToString());
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(string replica, RuleStateSnapshot state, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        ArgumentNullException.ThrowIfNull(state);
        var json = state.ToJson();
        await _store.RunAsync("SET of the rule state", db => db.StringSetAsync(_store.StateKey(replica), json), cancellationToken).ConfigureAwait(false);
    }

    private static IConnectionMultiplexer Checked(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection;
    }
}
