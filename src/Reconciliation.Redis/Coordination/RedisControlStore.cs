using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// The operator controls (silences, proposals, an operator's pause) shared by the fleet on Redis: one hash
/// (<c>{prefix}controls</c>, fields <c>version</c> and <c>document</c>, no expiry), written with compare-and-swap in a Lua script.
/// </summary>
public sealed class RedisControlStore : IControlStore
{
    private readonly RedisCoordinationStore _store;

    /// <summary>Creates the control store on <paramref name="connection"/> (not disposed by it).</summary>
    /// <param name="connection">The Redis connection.</param>
    /// <param name="options">The key prefix and the database.</param>
    public RedisControlStore(IConnectionMultiplexer connection, RedisCoordinationOptions options)
        : this(RedisCoordinationStore.ForConnection(connection ?? throw new ArgumentNullException(nameof(connection)), options))
    {
    }

    internal RedisControlStore(RedisCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public async Task<ControlDocument?> ReadAsync(CancellationToken cancellationToken)
    {
        var fields = await _store.RunAsync("HMGET of the operator controls", db => db.HashGetAsync(_store.ControlKey, ["version", "document"]), cancellationToken)
            .ConfigureAwait(false);
        return fields[0].IsNullOrEmpty || fields[1].IsNullOrEmpty
            ? null
            : new ControlDocument(fields[1].ToString(), long.Parse(fields[0].ToString(), CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public async Task<bool> TryWriteAsync(string json, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(json);
        var reply = await _store.RunAsync("the operator controls' write script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.WriteControls,
            [_store.ControlKey], [expectedVersion, json]), cancellationToken).ConfigureAwait(false);
        return (long)reply == 1;
    }
}
