using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// What the journal, the lease and the state store share: the connection (the store's own one, opened lazily from a
/// configuration string, or the host's), the options and the key names. Every failure leaves here as a concise
/// exception with no configuration string, password or stack dump in its message.
/// </summary>
internal sealed class RedisCoordinationStore : IAsyncDisposable, IDisposable
{
    private readonly Func<CancellationToken, Task<IConnectionMultiplexer>> _connect;
    private readonly bool _owned;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _connection;
    private bool _disposed;

    private RedisCoordinationStore(Func<CancellationToken, Task<IConnectionMultiplexer>> connect, bool owned, RedisCoordinationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connect = connect;
        _owned = owned;
        Options = options;
        Prefix = options.KeyPrefix;
        JournalKey = Prefix + RedisCoordinationDefaults.JournalKey;
        JournalIdsKey = Prefix + RedisCoordinationDefaults.JournalIdsKey;
    }

    public RedisCoordinationOptions Options { get; }

    public string Prefix { get; }

    public RedisKey JournalKey { get; }

    public RedisKey JournalIdsKey { get; }

    /// <summary>A store on the host's connection (not disposed here).</summary>
    public static RedisCoordinationStore ForConnection(Func<IConnectionMultiplexer> connection, RedisCoordinationOptions options) =>
        new(_ => Task.FromResult(connection() ?? throw new InvalidOperationException("The Redis coordination connection resolved to null.")), owned: false, options);

    /// <summary>A store on the host's connection (not disposed here).</summary>
    public static RedisCoordinationStore ForConnection(IConnectionMultiplexer connection, RedisCoordinationOptions options) => ForConnection(() => connection, options);

    /// <summary>A store that opens (and owns) its own connection from <see cref="RedisCoordinationOptions.Configuration"/>.</summary>
    public static RedisCoordinationStore Connecting(RedisCoordinationOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(async cancellationToken =>
        {
            var configuration = ConfigurationOptions.Parse(options.Configuration
                ?? throw new InvalidOperationException($"{RedisCoordinationOptions.SectionPath}:Configuration is not set."));
            configuration.ClientName = RedisCoordinationDefaults.ClientName;

            // Never wait for the server at start, and fail commands at once while it is down: a heal decision must not hang.
            configuration.AbortOnConnectFail = false;
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            var connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
            Log.CoordinationConnected(logger, RedisCoordinationDefaults.ClientName);
            return connection;
        }, owned: true, options);
    }

    public RedisKey LeaseKey(string resource) => Prefix + RedisCoordinationDefaults.LeaseKey + resource;

    public RedisKey FenceKey(string resource) => Prefix + RedisCoordinationDefaults.FenceKey + resource;

    public RedisKey StateKey(string replica) => Prefix + RedisCoordinationDefaults.StateKey + replica;

    public RedisKey ControlKey => Prefix + RedisCoordinationDefaults.ControlKey;

    /// <summary>Runs <paramref name="command"/> on the store's database; a connection failure or timeout leaves as a one-line exception.</summary>
    public async Task<T> RunAsync<T>(string what, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await command(database).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw RedisErrors.Concise(e, RedisCoordinationDefaults.ResourceName, what);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            var connection = Interlocked.Exchange(ref _connection, null);
            if (_owned && connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        var connection = Interlocked.Exchange(ref _connection, null);
        if (_owned)
        {
            connection?.Dispose();
        }
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is null)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                connection = _connection ??= await ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }

        return connection.GetDatabase(Options.Database);
    }

    private async Task<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        IConnectionMultiplexer connection;
        try
        {
            connection = await _connect(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw RedisErrors.Concise(e, RedisCoordinationDefaults.ResourceName, "connect");
        }

        // On a cluster every script's keys must share a slot: only a hash tag in the prefix guarantees that.
        if (!RedisCoordinationOptionsValidator.HasHashTag(Prefix) && IsCluster(connection))
        {
            if (_owned)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            throw new InvalidOperationException(
                $"The coordination Redis is a cluster: {RedisCoordinationOptions.SectionPath}:KeyPrefix '{Prefix}' needs a hash tag so that the store's keys share one slot (for example '{{reconciliation}}:').");
        }

        return connection;
    }

    private static bool IsCluster(IConnectionMultiplexer connection)
    {
        foreach (var server in connection.GetServers())
        {
            if (server.IsConnected && server.ServerType == ServerType.Cluster)
            {
                return true;
            }
        }

        return false;
    }
}
