using Npgsql;

namespace Reconciliation.Postgres;

/// <summary>
/// The probe's own session: ONE long-lived connection with its own <c>application_name</c>, opened on first use and kept
/// between ticks (idle, outside any transaction), so probes, session healers and the migration gate still answer when the
/// app's pool is saturated, never take a connection the app needs, and reuse the probe's prepared batch every tick.
/// Uses are serialised (one command at a time on the session); a broken session is dropped and reopened on the next use.
/// </summary>
/// <remarks>
/// With <see cref="PostgresReconciliationOptions.ProbeConnectionString"/> the session comes from a data source built once
/// and NAMED after the resource (<c>reconciliation-probe:main-db</c>): Npgsql tags every pool metric with the data source's
/// name, and an unnamed one would be tagged with <c>Host=…;Username=…;Database=…</c>. Without it the session is a clone
/// of the app's data source (<see cref="NpgsqlConnection.CloneWithAsync"/>), made once per session rather than once per
/// tick: Npgsql re-applies the data source's password (static or from its provider) and SSL callbacks without this
/// library holding the password, but offers no way to name the clone, so its metrics carry the connection string
/// without the password (docs/postgres.md says so and recommends a probe connection string).
/// </remarks>
internal sealed class PostgresProbeConnector : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _appDataSource;
    private readonly NpgsqlDataSource? _ownDataSource;
    private readonly string? _cloneConnectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _session;
    private Dictionary<string, NpgsqlBatch>? _prepared;
    private bool _disposed;

    public PostgresProbeConnector(NpgsqlDataSource appDataSource, PostgresReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(appDataSource);
        ArgumentNullException.ThrowIfNull(options);
        _appDataSource = appDataSource;
        DataSourceName = DataSourceNameOf(options);
        if (options.ProbeConnectionString is not null)
        {
            var builder = new NpgsqlDataSourceBuilder(options.ProbeConnectionString);
            Apply(builder.ConnectionStringBuilder, options);
            builder.ConnectionStringBuilder.Pooling = true;
            builder.Name = DataSourceName;
            _ownDataSource = builder.Build();
        }
        else
        {
            var builder = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString);
            Apply(builder, options);

            // Unpooled: the session is held by this class, so a pool would only add a second bookkeeping layer.
            builder.Pooling = false;
            _cloneConnectionString = builder.ConnectionString;
        }
    }

    /// <summary>The name of the probe's own data source (its pool metrics' <c>db.client.connection.pool.name</c>).</summary>
    public string DataSourceName { get; }

    /// <summary>True when the probe's session comes from its own named data source.</summary>
    public bool IsNamed => _ownDataSource is not null;

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
        NpgsqlConnection connection;
        if (_ownDataSource is not null)
        {
            connection = _ownDataSource.CreateConnection();
        }
        else
        {
            var template = _appDataSource.CreateConnection();
            await using var templateScope = template.ConfigureAwait(false);
            connection = await template.CloneWithAsync(_cloneConnectionString!, cancellationToken).ConfigureAwait(false);
        }

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
