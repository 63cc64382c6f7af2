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
        AppMaxPoolSizeIsDeclared = DeclaresMaxPoolSize(dataSource.ConnectionString);
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

        Roles = options.Roles.Count > 0
            ? [.. options.Roles]
            : string.IsNullOrEmpty(appSettings.Username) ? [] : [appSettings.Username];
        Database = appSettings.Database ?? appSettings.Username;
        CheckProbeDatabase(options, Database);
        Connector = new PostgresProbeConnector(dataSource, options, Logger);
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

    /// <summary>
    /// True when the app's connection string sets Max Pool Size; false when the pool runs at Npgsql's default (100), a size
    /// nobody chose, so an over-budget reading is reported as information rather than a warning (see the server probe).
    /// </summary>
    public bool AppMaxPoolSizeIsDeclared { get; }

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

    /// <summary>The roles the session healers may signal (empty: none known, they act on nothing).</summary>
    public string[] Roles { get; }

    /// <summary>The app's database (the data source's, or Npgsql's default: the user name), or null when neither is set.</summary>
    public string? Database { get; }

    /// <summary>True when the idle-in-transaction signals cover every session of the database.</summary>
    public bool IdleInTransactionOfAllApplications => !Options.IdleInTransactionOfApplicationsOnly || ApplicationNames.Length == 0 || Roles.Length == 0;

    /// <summary>The default cap on targets per heal, when the policy sets none.</summary>
    public static int MaxTargets(HealContext context) => context.MaxTargets ?? PostgresReconciliationOptions.DefaultMaxTargets;

    public PostgresProbeConnector Connector { get; }

    /// <summary>Reads the server snapshot on the probe's own connection, returning the connection to its pool right after.</summary>
    public async Task<PostgresServerSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken)
    {
        return await Connector.UseAsync(
            (_, batches, ct) => PostgresServerSnapshot.ReadAsync(batches(nameof(PostgresServerSnapshot)), ApplicationNames, Roles, IdleInTransactionOfAllApplications, ct),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The connection budget against a snapshot's settings.</summary>
    public PostgresCapacityReport Capacity(PostgresServerSnapshot snapshot) =>
        new(snapshot.MaxConnections, snapshot.ReservedConnections, AppMaxPoolSize, Options.Replicas, ProbeConnectionsPerReplica: 1, Options.OtherClients);

    public ValueTask DisposeAsync() => Connector.DisposeAsync();

    public void Dispose() => Connector.Dispose();

    /// <summary>
    /// The probe, the session healers and the migration gate read pg_stat_activity of the database they are connected to
    /// (<c>current_database()</c>): a probe connection string for another database (a monitoring role connected to
    /// <c>postgres</c>) would silently watch, and heal, the wrong one, so it fails at start.
    /// </summary>
    private static void CheckProbeDatabase(PostgresReconciliationOptions options, string? appDatabase)
    {
        if (options.ProbeConnectionString is null)
        {
            return;
        }

        var probe = new NpgsqlConnectionStringBuilder(options.ProbeConnectionString);
        var probeDatabase = probe.Database ?? probe.Username;
        if (appDatabase is not null && probeDatabase is not null && !string.Equals(appDatabase, probeDatabase, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"{PostgresReconciliationOptionsValidator.SectionPrefix}:{options.Resource}:ProbeConnectionString connects to the database '{probeDatabase}' but the data source uses '{appDatabase}': the probe and the session healers must watch the app's own database.");
        }
    }

    /// <summary>Whether a connection string names Max Pool Size under any of Npgsql's spellings (the typed builder always answers a value).</summary>
    internal static bool DeclaresMaxPoolSize(string connectionString)
    {
        var keys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string key in keys.Keys)
        {
            var bare = key.Replace(" ", string.Empty, StringComparison.Ordinal);
            if (bare.Equals("MaxPoolSize", StringComparison.OrdinalIgnoreCase) || bare.Equals("MaximumPoolSize", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

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
