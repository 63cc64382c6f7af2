using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// One registration: the resource name, the app's data source, its options and the probe's own connections. The probes,
/// healers and the migration gate of the registration share it (a keyed singleton in DI).
/// </summary>
internal sealed class PostgresResource : IAsyncDisposable, IDisposable
{
    public PostgresResource(NpgsqlDataSource dataSource, PostgresReconciliationOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        var validation = new PostgresReconciliationOptionsValidator().Validate(options.Resource, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }

        Name = options.Resource;
        DataSource = dataSource;
        Options = options;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Reconciliation.Postgres");

        var appSettings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        AppMaxPoolSize = appSettings.MaxPoolSize;
        PoolName = options.PoolName ?? DefaultPoolName(dataSource, appSettings);
        // Without an explicit PoolName, also accept a builder Name equal to the resource name: the common way to name a
        // data source ("main-db" for resource "main-db") then works without repeating it.
        _poolNames = options.PoolName is not null ? [options.PoolName] : [PoolName, options.Resource];
        ApplicationNames = options.ApplicationNames.Count > 0
            ? [.. options.ApplicationNames]
            : string.IsNullOrEmpty(appSettings.ApplicationName) ? [] : [appSettings.ApplicationName];
        if (ApplicationNames.Length == 0)
        {
            Logger.NoApplicationNames(Name);
        }

        Connector = new PostgresProbeConnector(dataSource, options);
    }

    private readonly string[] _poolNames;

    /// <summary>The resource name.</summary>
    public string Name { get; }

    /// <summary>The app's data source (its pool is what the pool probe watches and clear-pool clears).</summary>
    public NpgsqlDataSource DataSource { get; }

    public PostgresReconciliationOptions Options { get; }

    public ILogger Logger { get; }

    /// <summary>The app pool's Max Pool Size, for the connection budget.</summary>
    public int AppMaxPoolSize { get; }

    /// <summary>The value of Npgsql's <c>db.client.connection.pool.name</c> tag for the app's pool.</summary>
    public string PoolName { get; }

    /// <summary>True when <paramref name="poolName"/> (a <c>db.client.connection.pool.name</c> tag) is the app's pool.</summary>
    public bool IsAppPool(string? poolName)
    {
        foreach (var name in _poolNames)
        {
            if (string.Equals(poolName, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The application names the terminate healer may act on (empty: none known).</summary>
    public string[] ApplicationNames { get; }

    /// <summary>True when the idle-in-transaction signals cover every session of the database.</summary>
    public bool IdleInTransactionOfAllApplications => !Options.IdleInTransactionOfApplicationsOnly || ApplicationNames.Length == 0;

    public PostgresProbeConnector Connector { get; }

    /// <summary>Reads the server snapshot on the probe's own connection, returning the connection to its pool right after.</summary>
    public async Task<PostgresServerSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken)
    {
        var connection = await Connector.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        return await PostgresServerSnapshot.ReadAsync(connection, ApplicationNames, IdleInTransactionOfAllApplications, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The connection budget against a snapshot's settings.</summary>
    public PostgresCapacityReport Capacity(PostgresServerSnapshot snapshot) =>
        new(snapshot.MaxConnections, snapshot.ReservedConnections, AppMaxPoolSize, Options.Replicas, ProbeConnectionsPerReplica: 1, Options.OtherClients);

    public ValueTask DisposeAsync() => Connector.DisposeAsync();

    public void Dispose() => Connector.Dispose();

    /// <summary>
    /// Npgsql tags pool metrics with the data source's Name, which defaults to its connection string without the password
    /// (the public ConnectionString already is that unless Persist Security Info is on). A custom Name is not public: it
    /// comes from <see cref="PostgresReconciliationOptions.PoolName"/>.
    /// </summary>
    private static string DefaultPoolName(NpgsqlDataSource dataSource, NpgsqlConnectionStringBuilder settings)
    {
        if (!settings.PersistSecurityInfo)
        {
            return dataSource.ConnectionString;
        }

        settings.Password = null;
        return settings.ConnectionString;
    }
}
