using Npgsql;

namespace Reconciliation.Queue;

/// <summary>
/// The queue probe's own one-connection pool, cloned from the app's data source (which re-applies its password or
/// password provider). The probe then still answers when the app's pool is saturated — exactly when a stuck queue matters.
/// </summary>
internal sealed class QueueProbeConnector
{
    /// <summary>The probe's application_name: distinct from the Postgres adapter's probe, so the two never share a pool of one.</summary>
    public const string ApplicationName = "reconciliation-queue-probe";

    private readonly NpgsqlDataSource _appDataSource;
    private readonly string _connectionString;

    public QueueProbeConnector(NpgsqlDataSource appDataSource)
    {
        ArgumentNullException.ThrowIfNull(appDataSource);
        _appDataSource = appDataSource;
        _connectionString = new NpgsqlConnectionStringBuilder(appDataSource.ConnectionString)
        {
            ApplicationName = ApplicationName,
            Pooling = true,
            MinPoolSize = 0,
            MaxPoolSize = 1,
            ConnectionIdleLifetime = 60, // a login per tick would cost more than the query; idle, it holds no transaction
            Multiplexing = false,
            Enlist = false,
        }.ConnectionString;
    }

    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
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
}
