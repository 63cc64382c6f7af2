using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.DataSources;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue.Notifications;

/// <summary>What a listener tells a subscribed worker.</summary>
internal interface IQueueSignal
{
    /// <summary>Jobs were enqueued (or the listener reconnected and notifications may have been missed): look now.</summary>
    void Wake();

    /// <summary>A job of the queue was cancelled: stop it if this worker runs it.</summary>
    void Cancelled(long jobId);
}

/// <summary>
/// One <c>LISTEN reconciliation_queue</c> connection per database per process, shared by every worker of every queue on
/// it. The connection comes from an unpooled data source of its own, NAMED <see cref="ApplicationName"/> (Npgsql tags its
/// metrics with that name, not with the connection string) and logging in with the app's data source's password of the
/// moment (<see cref="OwnDataSource"/>); it never takes a connection from the app's pool. Should a future Npgsql no longer
/// hand that password over, each connection is a clone of the app's data source instead (unnamed: its metrics then carry
/// host, port, user and database). On a lost connection it reconnects with a growing delay and wakes every subscriber,
/// since notifications sent meanwhile are lost; workers poll as a fallback all along.
/// </summary>
internal sealed class QueueListener : IAsyncDisposable
{
    /// <summary>The listener's application_name.</summary>
    public const string ApplicationName = "reconciliation-queue-listener";

    private static readonly TimeSpan MinRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    private readonly NpgsqlDataSource _appDataSource;
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _ownDataSource;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<IQueueSignal, byte>> _subscribers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _firstListen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    public QueueListener(NpgsqlDataSource appDataSource, TimeProvider time, ILogger logger, int ordinal = 1)
    {
        _appDataSource = appDataSource;
        _time = time;
        _logger = logger;
        var settings = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString)
        {
            ApplicationName = ApplicationName,
            Pooling = false,
            KeepAlive = 30,
            Multiplexing = false,
            Enlist = false,
        };
        _connectionString = settings.ConnectionString;
        DataSourceName = ordinal == 1 ? ApplicationName : $"{ApplicationName}:{ordinal.ToString(CultureInfo.InvariantCulture)}";
        _ownDataSource = OwnDataSource.TryBuild(appDataSource, settings, DataSourceName);
    }

    /// <summary>
    /// The name of the listener's data source (its metrics' <c>db.client.connection.pool.name</c>): <see cref="ApplicationName"/>,
    /// followed by <c>:2</c>, <c>:3</c>… for the listeners of further databases in the same container.
    /// </summary>
    internal string DataSourceName { get; }

    /// <summary>True when the listener's connections come from its own named data source (false: clones of the app's).</summary>
    internal bool IsNamed => _ownDataSource is not null;

    /// <summary>The backend pid of the current listening connection (for tests), or 0.</summary>
    internal int ProcessId { get; private set; }

    /// <summary>Completes once the first LISTEN is in place (for tests and benchmarks that must not race it).</summary>
    internal Task Listening => _firstListen.Task;

    /// <summary>Subscribes a worker to the queue whose notify payload is <paramref name="table"/>; dispose to unsubscribe.</summary>
    public IDisposable Subscribe(string table, IQueueSignal signal)
    {
        _subscribers.GetOrAdd(table, _ => new()).TryAdd(signal, 0);
        lock (_gate)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
        }

        return new Subscription(this, table, signal);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
        if (_ownDataSource is not null)
        {
            await _ownDataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var retry = MinRetry;
        var failing = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var connection = await CreateConnectionAsync(stop).ConfigureAwait(false);

                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += OnNotification;
                    await connection.OpenAsync(stop).ConfigureAwait(false);
                    var listen = new NpgsqlCommand("LISTEN " + QueueSql.Channel, connection);
                    await using (listen.ConfigureAwait(false))
                    {
                        await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                    }

                    ProcessId = connection.ProcessID;
                    retry = MinRetry;
                    if (failing)
                    {
                        failing = false;
                        Log.ListenerRecovered(_logger);
                    }

                    _firstListen.TrySetResult();

                    // Notifications sent while no one listened are lost: every subscriber looks once now.
                    WakeAll();
                    while (true)
                    {
                        await connection.WaitAsync(stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                ProcessId = 0;
                if (!failing)
                {
                    failing = true;
                    Log.ListenerLost(_logger, SecretScrubber.Describe(e));
                }

                try
                {
                    await Task.Delay(retry, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
            }
        }
    }

    private async ValueTask<NpgsqlConnection> CreateConnectionAsync(CancellationToken stop)
    {
        if (_ownDataSource is not null)
        {
            return _ownDataSource.CreateConnection();
        }

        var template = _appDataSource.CreateConnection(); // not opened: takes nothing from the app's pool
        await using (template.ConfigureAwait(false))
        {
            return await template.CloneWithAsync(_connectionString, stop).ConfigureAwait(false);
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        // Payload: "schema.table" (enqueued) or "schema.table cancel <id>".
        var payload = e.Payload;
        var space = payload.IndexOf(' ', StringComparison.Ordinal);
        var table = space < 0 ? payload : payload[..space];
        if (!_subscribers.TryGetValue(table, out var signals))
        {
            return;
        }

        if (space < 0)
        {
            foreach (var signal in signals.Keys)
            {
                signal.Wake();
            }

            return;
        }

        var rest = payload.AsSpan(space + 1);
        if (rest.StartsWith("cancel ", StringComparison.Ordinal)
            && long.TryParse(rest["cancel ".Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
        {
            foreach (var signal in signals.Keys)
            {
                signal.Cancelled(id);
            }
        }
    }

    private void WakeAll()
    {
        foreach (var signals in _subscribers.Values)
        {
            foreach (var signal in signals.Keys)
            {
                signal.Wake();
            }
        }
    }

    private sealed class Subscription(QueueListener listener, string table, IQueueSignal signal) : IDisposable
    {
        public void Dispose()
        {
            if (listener._subscribers.TryGetValue(table, out var signals))
            {
                signals.TryRemove(signal, out _);
            }
        }
    }
}

/// <summary>The process's listeners, one per database (connection string), created on first use and closed with the container.</summary>
internal sealed class QueueListenerHub(TimeProvider time, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<QueueListener>> _listeners = new(StringComparer.Ordinal);
    private int _created;

    public QueueListener For(NpgsqlDataSource dataSource) =>
        _listeners.GetOrAdd(dataSource.ConnectionString,
            _ => new Lazy<QueueListener>(() => new QueueListener(dataSource, time, loggers.CreateLogger<QueueListener>(), Interlocked.Increment(ref _created)))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners.Values.Where(l => l.IsValueCreated))
        {
            await listener.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
