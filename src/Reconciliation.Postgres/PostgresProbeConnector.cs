using Npgsql;

namespace Reconciliation.Postgres;

/// <summary>
/// Opens the probe's own connections: a pool of one, with its own <c>application_name</c>, so probes, session healers and
/// the migration gate still answer when the app's pool is saturated, and never take a connection the app needs.
/// </summary>
/// <remarks>
/// Without <see cref="PostgresReconciliationOptions.ProbeConnectionString"/> the connection is a clone of the app's data
/// source (<see cref="NpgsqlConnection.CloneWithAsync"/>): the data source's public connection string drops the password
/// unless Persist Security Info is on, and CloneWithAsync re-applies the data source's password (static or from its
/// password provider) and SSL callbacks without this library ever holding it in a string of its own.
/// The physical connection is pooled between ticks (idle, outside any transaction) and closed by Npgsql after
/// <see cref="PostgresReconciliationOptions.ProbeConnectionIdleLifetime"/>: a tick costs one round trip, not a login.
/// </remarks>
internal sealed class PostgresProbeConnector : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _appDataSource;
    private readonly NpgsqlDataSource? _ownDataSource;
    private readonly string? _cloneConnectionString;

    public PostgresProbeConnector(NpgsqlDataSource appDataSource, PostgresReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(appDataSource);
        ArgumentNullException.ThrowIfNull(options);
        _appDataSource = appDataSource;
        if (options.ProbeConnectionString is not null)
        {
            var builder = new NpgsqlDataSourceBuilder(options.ProbeConnectionString);
            Apply(builder.ConnectionStringBuilder, options);
            builder.Name = $"{options.ProbeApplicationName}:{options.Resource}";
            _ownDataSource = builder.Build();
        }
        else
        {
            var builder = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString);
            Apply(builder, options);
            _cloneConnectionString = builder.ConnectionString;
        }
    }

    /// <summary>Opens a connection; dispose it as soon as the query is done (it goes back to the one-connection pool).</summary>
    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
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
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _ownDataSource?.DisposeAsync() ?? ValueTask.CompletedTask;

    public void Dispose() => _ownDataSource?.Dispose();

    private static void Apply(NpgsqlConnectionStringBuilder builder, PostgresReconciliationOptions options)
    {
        builder.ApplicationName = options.ProbeApplicationName;
        builder.Pooling = true;
        builder.MinPoolSize = 0;
        builder.MaxPoolSize = 1;
        builder.ConnectionIdleLifetime = Math.Max(1, (int)Math.Ceiling(options.ProbeConnectionIdleLifetime.TotalSeconds));
        builder.ConnectionPruningInterval = Math.Min(builder.ConnectionPruningInterval, builder.ConnectionIdleLifetime);
        builder.Multiplexing = false;
        builder.Enlist = false;
    }
}
