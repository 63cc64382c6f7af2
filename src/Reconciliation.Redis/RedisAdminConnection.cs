using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// The adapter's own small connection with admin rights (<c>INFO</c>, <c>CONFIG</c>), so the application's multiplexer
/// keeps its own settings. Built lazily, from the host's factory or from the application's configuration string with
/// <c>AllowAdmin = true</c>; rebuilt by <c>redis.reconnect</c>. The configuration string holds the password: it is
/// parsed here and never logged, formatted into a message or kept beyond the connect call.
/// </summary>
internal sealed class RedisAdminConnection : IAsyncDisposable, IDisposable
{
    private readonly string _resource;
    private readonly Func<IConnectionMultiplexer> _application;
    private readonly Func<CancellationToken, Task<IConnectionMultiplexer>>? _factory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _connection;
    private bool _disposed;

    public RedisAdminConnection(string resource, Func<IConnectionMultiplexer> application,
        Func<CancellationToken, Task<IConnectionMultiplexer>>? factory, ILogger logger)
    {
        _resource = resource;
        _application = application;
        _factory = factory;
        _logger = logger;
    }

    /// <summary>The current connection, or null before the first use.</summary>
    public IConnectionMultiplexer? Current => Volatile.Read(ref _connection);

    /// <summary>The admin connection, built on first use.</summary>
    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is not null)
        {
            return connection;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _connection ??= await BuildAsync(cancellationToken).ConfigureAwait(false);
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Replaces the connection with a new one and disposes the old one.</summary>
    public async Task<IConnectionMultiplexer> RebuildAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var fresh = await BuildAsync(cancellationToken).ConfigureAwait(false);
            var old = Interlocked.Exchange(ref _connection, fresh);
            if (old is not null)
            {
                await old.DisposeAsync().ConfigureAwait(false);
            }

            return fresh;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The server the probe reads: the first connected primary, else the first configured endpoint.</summary>
    public static IServer PickServer(IConnectionMultiplexer connection)
    {
        var servers = connection.GetServers();
        if (servers.Length == 0)
        {
            throw new InvalidOperationException("The Redis connection has no endpoints.");
        }

        foreach (var server in servers)
        {
            if (server.IsConnected && !server.IsReplica)
            {
                return server;
            }
        }

        return servers[0];
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            var connection = Interlocked.Exchange(ref _connection, null);
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>For containers disposed synchronously: closes the connection without waiting for a rebuild in progress.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _connection, null)?.Dispose();
    }

    private async Task<IConnectionMultiplexer> BuildAsync(CancellationToken cancellationToken)
    {
        if (_factory is not null)
        {
            var built = await _factory(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The AdminConnectionFactory of Redis resource '{_resource}' returned null.");
            Log.AdminConnectionBuilt(_logger, _resource, "the host's AdminConnectionFactory");
            return built;
        }

        var options = ConfigurationOptions.Parse(_application().Configuration);
        options.AllowAdmin = true;

        // Never wait for the server at start, and fail commands at once while it is down: a probe must not hang.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;

        // No tie-breaker GET on connect: it would count as a keyspace miss in the very counters the probe reads.
        options.TieBreaker = string.Empty;
        options.ClientName = "reconciliation-admin";
        var connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(cancellationToken).ConfigureAwait(false);
        Log.AdminConnectionBuilt(_logger, _resource, "the application's configuration with AllowAdmin");
        return connection;
    }
}
