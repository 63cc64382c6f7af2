using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// What the journal, the lease and the state store share: the data source, the statements, and the one-time creation
/// of the tables (on first use, under an advisory lock, checked against each table's version marker).
/// </summary>
internal sealed class PostgresCoordinationStore : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly Lock _schemaGate = new();
    private Task? _schema;
    private bool _schemaReady;

    public PostgresCoordinationStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresCoordinationOptions options, TimeProvider timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (!CoordinationIdentifier.IsValid(options.Schema))
        {
            // Registered stores never get here (their options are validated at start with the key named).
            throw new ArgumentException($"{PostgresCoordinationOptions.SectionName}:Schema must match {CoordinationIdentifier.Pattern}.", nameof(options));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Options = options;
        Time = timeProvider;
        Logger = logger ?? NullLogger.Instance;
        Sql = new CoordinationSql(options.Schema);
    }

    public PostgresCoordinationOptions Options { get; }

    public CoordinationSql Sql { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>
    /// Builds the store's own data source from a connection string, named for <c>pg_stat_activity</c> unless the string
    /// names it, and NAMED <c>reconciliation-coordination</c> for Npgsql's metrics (an unnamed data source is tagged with its
    /// connection string without the password: host, port, user, database).
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = PostgresCoordinationOptions.DefaultApplicationName };
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName))
        {
            builder.ConnectionStringBuilder.ApplicationName = PostgresCoordinationOptions.DefaultApplicationName;
        }

        return builder.Build();
    }

    public void Dispose()
    {
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/> as one command (after making sure the tables exist). Failures other than cancellation
    /// come out as <see cref="PostgresCoordinationException"/> naming the operation, with the server's words scrubbed.
    /// </summary>
    public async Task<T> RunAsync<T>(string operation, string sql, Action<NpgsqlParameterCollection> parameters, Func<NpgsqlCommand, CancellationToken, Task<T>> execute,
        CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
            var command = _dataSource.CreateCommand(sql);
            await using var commandScope = command.ConfigureAwait(false);
            parameters(command.Parameters);
            return await execute(command, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw new PostgresCoordinationException($"PostgreSQL coordination could not {operation}: {SecretScrubber.Describe(e)}", e);
        }
    }

    /// <summary>Creates the tables once per process on first use; a failed run is tried again on the next call.</summary>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _schemaReady))
        {
            return Task.CompletedTask;
        }

        lock (_schemaGate)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled)
            {
                // Not tied to one caller's token: a cancelled caller must not fail the migration for the others.
                _schema = MigrateAsync(CancellationToken.None);
            }

            return _schema.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Creates what is missing of the schema, the three tables and the token sequence. The common case at every start is
    /// one catalog read with no lock and no DDL; otherwise it runs under a transaction-scoped advisory lock (so replicas
    /// starting together create each table once) and never adopts a table it did not create.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        if (IsCurrent(await ReadVersionsAsync(connection, null, cancellationToken).ConfigureAwait(false)))
        {
            MarkSchemaReady();
            return;
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@lock_name, 0))",
            p => p.AddWithValue("lock_name", NpgsqlDbType.Text, Sql.LockName), cancellationToken).ConfigureAwait(false);

        // Another replica may have created them while this one waited for the lock.
        var versions = await ReadVersionsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (!IsCurrent(versions))
        {
            var foreign = versions.Where(v => !string.Equals(v.Value, CoordinationSql.SchemaMarker, StringComparison.Ordinal)).ToArray();
            if (foreign.Length > 0)
            {
                var described = string.Join("; ", foreign.Select(v => $"{Sql.SchemaName}.{v.Key} " + (v.Value is { } c && c.StartsWith(CoordinationSql.SchemaMarkerPrefix, StringComparison.Ordinal)
                    ? $"was created by another layout of the coordination store ({c}), which is not converted in place"
                    : "is not a coordination table (it has no coordination marker)")));
                throw new InvalidOperationException(
                    $"PostgreSQL coordination: {described}. Nothing was changed. Point the store at another schema "
                    + $"({PostgresCoordinationOptions.SectionName}:Schema), or drop or rename the existing table.");
            }

            // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database even when the schema exists, so a
            // role that was given an existing schema (and no more) skips it.
            var schemaExists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", connection, transaction);
            await using (schemaExists.ConfigureAwait(false))
            {
                schemaExists.Parameters.AddWithValue("schema", NpgsqlDbType.Text, Sql.SchemaName);
                if (await schemaExists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                {
                    await ExecuteAsync(connection, transaction, Sql.CreateSchema, null, cancellationToken).ConfigureAwait(false);
                }
            }
            foreach (var table in CoordinationSql.Tables)
            {
                if (!versions.ContainsKey(table))
                {
                    await ExecuteAsync(connection, transaction, Sql.CreateTable[table], null, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        MarkSchemaReady();
    }

    private static bool IsCurrent(Dictionary<string, string?> versions) =>
        versions.Count == CoordinationSql.Tables.Length && versions.Values.All(v => string.Equals(v, CoordinationSql.SchemaMarker, StringComparison.Ordinal));

    private static bool IsStoreFailure(Exception e, CancellationToken cancellationToken) =>
        e is not (OperationCanceledException or HealLeaseLostException or OutOfMemoryException or PostgresCoordinationException)
        && !(cancellationToken.IsCancellationRequested && e is OperationCanceledException);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Action<NpgsqlParameterCollection>? parameters,
        CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        parameters?.Invoke(command.Parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void MarkSchemaReady()
    {
        if (!Volatile.Read(ref _schemaReady))
        {
            Volatile.Write(ref _schemaReady, true);
            Logger.CoordinationSchemaReady(Sql.SchemaName);
        }
    }

    private async Task<Dictionary<string, string?>> ReadVersionsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, string?>(StringComparer.Ordinal);
        var command = new NpgsqlCommand(Sql.CheckVersion, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("schema", NpgsqlDbType.Text, Sql.SchemaName);
        command.Parameters.AddWithValue("names", NpgsqlDbType.Array | NpgsqlDbType.Text, CoordinationSql.Tables);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return versions;
    }
}
