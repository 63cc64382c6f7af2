using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reconciliation.DataSources;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// The probe's own session: ONE long-lived connection with its own <c>application_name</c>, opened on first use and kept
/// between ticks (idle, outside any transaction), so probes, session healers and the migration gate still answer when the
/// app's pool is saturated, never take a connection the app needs, and reuse the probe's prepared batch every tick.
/// Uses are serialised (one command at a time on the session); a broken session is dropped and reopened on the next use.
/// </summary>
/// <remarks>
/// <para>The session comes from a data source built once and NAMED after the resource (<c>reconciliation-probe:main-db</c>):
/// Npgsql tags every pool metric with a data source's name, and an unnamed one is tagged with <c>Host=…;Username=…;Database=…</c>.
/// With <see cref="PostgresReconciliationOptions.ProbeConnectionString"/> it is built from that string. Without it, it is
/// built from the app's data source's connection string (which Npgsql gives without its password) and logs in with the app's
/// data source's password of the moment (its static one or its password provider's value, asked at every physical login)
/// and its SSL callback (<see cref="OwnDataSource"/>): so it is named whether the credentials live in a passfile,
/// <c>PGPASSWORD</c>, or only inside the app's data source.</para>
/// <para>Only when this Npgsql no longer hands the app's password over (<see cref="OwnDataSource.CarrierWorks"/> false, which
/// <c>OwnDataSourceTests</c> pins for the Npgsql version shipped) does the probe go back to the earlier way: a data source
/// derived from the connection string alone, and when that cannot authenticate (no password, a password refused, a TLS
/// handshake needing the app's callbacks), or with <c>SSL Mode=Require</c> (where the app's SSL callbacks may be what validates
/// the server), a clone of the app's data source (<see cref="NpgsqlConnection.CloneWithAsync"/>) whose unnamed pool's metrics
/// carry host, port, user and database. Warning 111 says so once.</para>
/// </remarks>
internal sealed class PostgresProbeConnector : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _appDataSource;
    private readonly string _resource;
    private readonly ILogger _logger;
    private readonly string _cloneConnectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlDataSource? _ownDataSource;
    private volatile bool _derived;
    private NpgsqlConnection? _session;
    private Dictionary<string, NpgsqlBatch>? _prepared;
    private bool _disposed;

    /// <param name="appDataSource">The app's data source.</param>
    /// <param name="options">The resource's options.</param>
    /// <param name="logger">Where warning 111 goes.</param>
    /// <param name="askAppForPassword">False only in tests: behave as with an Npgsql that no longer hands the password over.</param>
    public PostgresProbeConnector(NpgsqlDataSource appDataSource, PostgresReconciliationOptions options, ILogger? logger = null, bool askAppForPassword = true)
    {
        ArgumentNullException.ThrowIfNull(appDataSource);
        ArgumentNullException.ThrowIfNull(options);
        _appDataSource = appDataSource;
        _resource = options.Resource;
        _logger = logger ?? NullLogger.Instance;
        DataSourceName = DataSourceNameOf(options);

        var clone = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString);
        Apply(clone, options);

        // Unpooled: the session is held by this class, so a pool would only add a second bookkeeping layer.
        clone.Pooling = false;
        _cloneConnectionString = clone.ConnectionString;

        if (options.ProbeConnectionString is not null)
        {
            _ownDataSource = Build(options.ProbeConnectionString, options, DataSourceName);
        }
        else if (askAppForPassword && OwnDataSource.TryBuild(appDataSource, Settings(appDataSource.ConnectionString, options), DataSourceName) is { } own)
        {
            // Logs in with the app's data source's password of the moment and its SSL callback: no fallback needed.
            _ownDataSource = own;
        }
        else if (new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString).SslMode is not SslMode.Require)
        {
            // This Npgsql no longer hands the password over (OwnDataSource.CarrierWorks): derive, and clone if that cannot log in.
            _ownDataSource = Build(appDataSource.ConnectionString, options, DataSourceName);
            _derived = true;
        }
    }

    /// <summary>The name of the probe's own data source (its pool metrics' <c>db.client.connection.pool.name</c>).</summary>
    public string DataSourceName { get; }

    /// <summary>True while the probe's session comes from its own named data source (false once it fell back to a clone).</summary>
    public bool IsNamed => Volatile.Read(ref _ownDataSource) is not null;

    internal static string DataSourceNameOf(PostgresReconciliationOptions options) => $"{options.ProbeApplicationName}:{options.Resource}";

    /// <summary>Runs <paramref name="work"/> on the probe's session, alone; drops the session when the connection broke.</summary>
    public async Task<T> UseAsync<T>(Func<NpgsqlConnection, Func<string, NpgsqlBatch>, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var session = await SessionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await work(session, Batch, cancellationToken).ConfigureAwait(false);
            }
            catch when (session.FullState is not System.Data.ConnectionState.Open)
            {
                await DropSessionAsync().ConfigureAwait(false);
                throw;
            }
            catch (OperationCanceledException)
            {
                // A cancelled command may leave the session mid-protocol: start clean next time.
                await DropSessionAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            await DropSessionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        if (_ownDataSource is not null)
        {
            await _ownDataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _session?.Dispose();
        _session = null;
        _ownDataSource?.Dispose();
    }

    /// <summary>A batch of one statement kept (and prepared on first use) for the life of the session.</summary>
    private NpgsqlBatch Batch(string sql)
    {
        _prepared ??= new Dictionary<string, NpgsqlBatch>(StringComparer.Ordinal);
        if (!_prepared.TryGetValue(sql, out var batch))
        {
            batch = new NpgsqlBatch(_session);
            _prepared[sql] = batch;
        }

        return batch;
    }

    private async ValueTask<NpgsqlConnection> SessionAsync(CancellationToken cancellationToken)
    {
        if (_session is { FullState: System.Data.ConnectionState.Open } open)
        {
            return open;
        }

        await DropSessionAsync().ConfigureAwait(false);
        if (_ownDataSource is { } own)
        {
            var named = own.CreateConnection();
            try
            {
                await named.OpenAsync(cancellationToken).ConfigureAwait(false);
                _derived = false; // authenticated once: a later failure is the server's, not the derivation's
                _session = named;
                return named;
            }
            catch (Exception e) when (_derived && CannotAuthenticate(e))
            {
                await named.DisposeAsync().ConfigureAwait(false);
                _logger.ProbeDataSourceUnnamed(_resource, DataSourceName);
                _ownDataSource = null;
                await own.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await named.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        var template = _appDataSource.CreateConnection();
        await using var templateScope = template.ConfigureAwait(false);
        var connection = await template.CloneWithAsync(_cloneConnectionString, cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _session = connection;
        return connection;
    }

    /// <summary>
    /// True when a derived data source failed for want of what only the app's data source holds: no password
    /// ("No password has been provided…"), a password the server refused (class 28), or a TLS handshake that needs the
    /// app's callbacks. Network failures (transient: the server is down) and cancellation are not: the next use retries.
    /// </summary>
    internal static bool CannotAuthenticate(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("28", StringComparison.Ordinal),
        NpgsqlException { IsTransient: false, InnerException: null or System.Security.Authentication.AuthenticationException } => true,
        _ => false,
    };

    private static NpgsqlDataSource Build(string connectionString, PostgresReconciliationOptions options, string name) =>
        new NpgsqlDataSourceBuilder(Settings(connectionString, options).ConnectionString) { Name = name }.Build();

    private static NpgsqlConnectionStringBuilder Settings(string connectionString, PostgresReconciliationOptions options)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        Apply(settings, options);
        settings.Pooling = true;
        return settings;
    }

    private async ValueTask DropSessionAsync()
    {
        if (_prepared is not null)
        {
            foreach (var batch in _prepared.Values)
            {
                await batch.DisposeAsync().ConfigureAwait(false);
            }

            _prepared = null;
        }

        if (_session is not null)
        {
            await _session.DisposeAsync().ConfigureAwait(false);
            _session = null;
        }
    }

    private static void Apply(NpgsqlConnectionStringBuilder builder, PostgresReconciliationOptions options)
    {
        builder.ApplicationName = options.ProbeApplicationName;
        builder.MinPoolSize = 0;
        builder.MaxPoolSize = 1;
        builder.ConnectionIdleLifetime = Math.Max(1, (int)Math.Ceiling(options.ProbeConnectionIdleLifetime.TotalSeconds));
        builder.ConnectionPruningInterval = Math.Min(builder.ConnectionPruningInterval, builder.ConnectionIdleLifetime);
        builder.Multiplexing = false;
        builder.Enlist = false;
    }
}
