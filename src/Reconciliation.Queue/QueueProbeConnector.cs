using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reconciliation.DataSources;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// The queue probe's own one-connection pool, so the probe still answers when the app's pool is saturated — exactly when a
/// stuck queue matters.
/// </summary>
/// <remarks>
/// The pool is a data source NAMED after the queue (<c>reconciliation-queue-probe:orders</c>): Npgsql tags every pool metric
/// with a data source's name, and an unnamed one is tagged with <c>Host=…;Username=…;Database=…</c>. It is built from the app's
/// data source's connection string (which Npgsql gives without its password) and logs in with the app's data source's password
/// of the moment (static or from its password provider, asked at every physical login) and its SSL callback
/// (<see cref="OwnDataSource"/>). Only when this Npgsql no longer hands the password over (<see cref="OwnDataSource.CarrierWorks"/>
/// false) does the probe go back to the earlier way: a data source derived from the connection string alone, and when that
/// cannot authenticate (or with <c>SSL Mode=Require</c>) a clone of the app's data source
/// (<see cref="NpgsqlConnection.CloneWithAsync"/>), whose unnamed pool's metrics carry host, port, user and database (never
/// the password). Warning 323 says so once.
/// </remarks>
internal sealed class QueueProbeConnector : IAsyncDisposable
{
    /// <summary>The probe's application_name: distinct from the Postgres adapter's probe, so the two never share a pool of one.</summary>
    public const string ApplicationName = "reconciliation-queue-probe";

    private readonly NpgsqlDataSource _appDataSource;
    private readonly string _queue;
    private readonly ILogger _logger;
    private readonly string _connectionString;
    private NpgsqlDataSource? _ownDataSource;
    private volatile bool _derived;

    /// <param name="appDataSource">The app's data source.</param>
    /// <param name="queue">The queue's name.</param>
    /// <param name="logger">Where warning 323 goes.</param>
    /// <param name="askAppForPassword">False only in tests: behave as with an Npgsql that no longer hands the password over.</param>
    public QueueProbeConnector(NpgsqlDataSource appDataSource, string queue, ILogger? logger = null, bool askAppForPassword = true)
    {
        ArgumentNullException.ThrowIfNull(appDataSource);
        ArgumentNullException.ThrowIfNull(queue);
        _appDataSource = appDataSource;
        _queue = queue;
        _logger = logger ?? NullLogger.Instance;
        DataSourceName = $"{ApplicationName}:{queue}";
        var settings = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString)
        {
            ApplicationName = ApplicationName,
            Pooling = true,
            MinPoolSize = 0,
            MaxPoolSize = 1,
            ConnectionIdleLifetime = 60, // a login per tick would cost more than the query; idle, it holds no transaction
            Multiplexing = false,
            Enlist = false,
        };
        _connectionString = settings.ConnectionString;
        if (askAppForPassword && OwnDataSource.TryBuild(appDataSource, settings, DataSourceName) is { } own)
        {
            // Logs in with the app's data source's password of the moment and its SSL callback: no fallback needed.
            _ownDataSource = own;
        }
        else if (settings.SslMode is not SslMode.Require)
        {
            // This Npgsql no longer hands the password over (OwnDataSource.CarrierWorks): derive, and clone if that cannot log in.
            _ownDataSource = new NpgsqlDataSourceBuilder(_connectionString) { Name = DataSourceName }.Build();
            _derived = true;
        }
    }

    /// <summary>The name of the probe's own data source (its pool metrics' <c>db.client.connection.pool.name</c>).</summary>
    public string DataSourceName { get; }

    /// <summary>True while the probe reads through its own named data source (false once it fell back to a clone).</summary>
    public bool IsNamed => Volatile.Read(ref _ownDataSource) is not null;

    /// <summary>Opens a connection on the probe's pool.</summary>
    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _ownDataSource) is { } own)
        {
            var named = own.CreateConnection();
            try
            {
                await named.OpenAsync(cancellationToken).ConfigureAwait(false);
                _derived = false; // authenticated once: a later failure is the server's, not the derivation's
                return named;
            }
            catch (Exception e) when (_derived && CannotAuthenticate(e))
            {
                await named.DisposeAsync().ConfigureAwait(false);
                if (Interlocked.CompareExchange(ref _ownDataSource, null, own) == own)
                {
                    Log.ProbeDataSourceUnnamed(_logger, _queue, DataSourceName);
                    await own.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch
            {
                await named.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        var template = _appDataSource.CreateConnection(); // not opened: takes nothing from the app's pool
        await using var templateScope = template.ConfigureAwait(false);
        var connection = await template.CloneWithAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _ownDataSource, null)?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>
    /// True when the derived data source failed for want of what only the app's data source holds: no password, a password
    /// the server refused (class 28), or a TLS handshake that needs the app's callbacks. Network failures (transient) and
    /// cancellation are not: the next run retries.
    /// </summary>
    internal static bool CannotAuthenticate(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("28", StringComparison.Ordinal),
        NpgsqlException { IsTransient: false, InnerException: null or System.Security.Authentication.AuthenticationException } => true,
        _ => false,
    };
}
