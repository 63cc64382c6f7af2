using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// The PostgreSQL implementation of <see cref="IJobQueue"/>: one table per queue, leases with tokens and a visibility
/// timeout, retries on the database clock. Thread-safe; register once per queue (<c>AddPostgresQueue</c>).
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a job queue; the name says what it is.")]
public sealed class PostgresJobQueue : IJobQueue
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresQueueOptions _options;
    private readonly QueueSql _sql;
    private readonly JsonSerializerOptions _json;
    private readonly ILogger _logger;
    private readonly Lock _schemaGate = new();
    private Task? _schema;
    private bool _schemaReady;

    /// <summary>Creates a queue over <paramref name="dataSource"/>. Most apps use <c>AddPostgresQueue</c> instead.</summary>
    /// <param name="name">The queue's name; also the table name unless <see cref="PostgresQueueOptions.TableName"/> is set.</param>
    /// <param name="dataSource">The data source the queue's statements run on.</param>
    /// <param name="options">Validated options (see <c>AddPostgresQueue</c>).</param>
    /// <param name="logger">The logger.</param>
    public PostgresJobQueue(string name, NpgsqlDataSource dataSource, PostgresQueueOptions options, ILogger<PostgresJobQueue> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var table = options.TableName ?? name;
        if (!QueueIdentifier.IsValid(table) || !QueueIdentifier.IsValid(options.Schema))
        {
            // Registered queues never get here (their options are validated at start with the key named); direct construction might.
            throw new ArgumentException($"Queue '{name}': the table '{table}' and schema '{options.Schema}' must match {QueueIdentifier.Pattern}.", nameof(options));
        }

        Name = name;
        _dataSource = dataSource;
        _options = options;
        _sql = new QueueSql(options.Schema, table);
        _json = options.SerializerOptions ?? JsonSerializerOptions.Web;
        _logger = logger;
        Table = options.Schema + "." + table;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The schema-qualified table name.</summary>
    public string Table { get; }

    internal PostgresQueueOptions Options => _options;

    internal JsonSerializerOptions SerializerOptions => _json;

    /// <inheritdoc />
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        if (await IsCurrentAsync(connection, null, cancellationToken).ConfigureAwait(false))
        {
            // The common case at every process start: one catalog read, no lock on the table, no DDL.
            MarkSchemaReady();
            return;
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@lock_name, 0))",
            p => p.AddWithValue("lock_name", NpgsqlDbType.Text, "reconciliation.queue:" + Table), cancellationToken).ConfigureAwait(false);

        // Another replica may have migrated while this one waited for the lock.
        if (!await IsCurrentAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
        {
            var (oid, comment) = await ReadVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            if (oid is { } existing)
            {
                await CheckAdoptableAsync(connection, transaction, existing, comment, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await ExecuteAsync(connection, transaction, _sql.CreateTable, null, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, transaction, _sql.CreateIndexes, null, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        MarkSchemaReady();
    }

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync<T>(T payload, JobOptions? options = null, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        return await EnqueueCoreAsync(connection, null, payload, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync<T>(NpgsqlTransaction transaction, T payload, JobOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already completed.", nameof(transaction));
        await EnsureSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        return await EnqueueCoreAsync(connection, transaction, payload, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> EnqueueManyAsync<T>(IEnumerable<T> payloads, CancellationToken cancellationToken = default) =>
        EnqueueManyAsync(payloads, null, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> EnqueueManyAsync<T>(IEnumerable<T> payloads, JobOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        return await EnqueueManyCoreAsync(connection, null, payloads, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> EnqueueManyAsync<T>(NpgsqlTransaction transaction, IEnumerable<T> payloads, JobOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(payloads);
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already completed.", nameof(transaction));
        await EnsureSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        return await EnqueueManyCoreAsync(connection, transaction, payloads, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobLease>> DequeueAsync(int maxJobs = 1, CancellationToken cancellationToken = default) =>
        DequeueAsync(maxJobs, null, cancellationToken);

    /// <summary>Leases up to <paramref name="maxJobs"/> due jobs of the given kinds (all kinds when null), highest priority first.</summary>
    internal async Task<IReadOnlyList<JobLease>> DequeueAsync(int maxJobs, string[]? kinds, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxJobs, 1);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlBatch batch;
        if (_options.GlobalConcurrency is { } global)
        {
            batch = _dataSource.CreateBatch();
            var lockCommand = new NpgsqlBatchCommand(_sql.DequeueLimitedLock);
            lockCommand.Parameters.AddWithValue("lock_name", NpgsqlDbType.Text, "reconciliation.queue.dequeue:" + Table);
            batch.BatchCommands.Add(lockCommand);
            var limited = new NpgsqlBatchCommand(_sql.DequeueLimited);
            limited.Parameters.AddWithValue("global", NpgsqlDbType.Integer, global);
            AddDequeueParameters(limited.Parameters, maxJobs, kinds);
            batch.BatchCommands.Add(limited);
        }
        else
        {
            batch = _dataSource.CreateBatch();
            var command = new NpgsqlBatchCommand(_sql.Dequeue);
            AddDequeueParameters(command.Parameters, maxJobs, kinds);
            batch.BatchCommands.Add(command);
        }

        await using var batchScope = batch.ConfigureAwait(false);
        var leases = new List<JobLease>(maxJobs);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (_options.GlobalConcurrency is not null)
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        }

        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leases.Add(new JobLease(Name, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2) + 1, reader.GetInt32(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetString(7), reader.GetInt16(8)));
        }

        return leases;
    }

    /// <inheritdoc />
    public async Task<bool> HeartbeatAsync(JobLease lease, CancellationToken cancellationToken = default)
    {
        CheckLease(lease);
        return (await HeartbeatManyAsync([lease], cancellationToken).ConfigureAwait(false)).Count == 1;
    }

    /// <summary>Extends many leases in one statement (a HOT update: no indexed column changes). Returns the ids still held.</summary>
    internal Task<IReadOnlyList<long>> HeartbeatManyAsync(IReadOnlyList<JobLease> leases, CancellationToken cancellationToken) =>
        ByTokensAsync(_sql.Heartbeat, leases, static (p, o) => p.AddWithValue("visibility", NpgsqlDbType.Interval, o.VisibilityTimeout),
            static r => r.GetInt64(0), cancellationToken);

    /// <summary>The same, answering the lease tokens still held (one worker may hold a lost and a new lease of one job).</summary>
    internal Task<IReadOnlyList<Guid>> HeartbeatTokensAsync(IReadOnlyList<JobLease> leases, CancellationToken cancellationToken) =>
        ByTokensAsync(_sql.Heartbeat, leases, static (p, o) => p.AddWithValue("visibility", NpgsqlDbType.Interval, o.VisibilityTimeout),
            static r => r.GetGuid(1), cancellationToken);

    /// <inheritdoc />
    public async Task<bool> CompleteAsync(JobLease lease, CancellationToken cancellationToken = default)
    {
        CheckLease(lease);
        return (await CompleteManyAsync([lease], cancellationToken).ConfigureAwait(false)).Count == 1;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<long>> CompleteManyAsync(IReadOnlyList<JobLease> leases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leases);
        foreach (var lease in leases)
        {
            CheckLease(lease);
        }

        return ByTokensAsync(_sql.Complete, leases, null, static r => r.GetInt64(0), cancellationToken);
    }

    /// <summary>The same, answering the lease tokens that completed (one worker may hold a lost and a new lease of one job).</summary>
    internal Task<IReadOnlyList<Guid>> CompleteTokensAsync(IReadOnlyList<JobLease> leases, CancellationToken cancellationToken) =>
        ByTokensAsync(_sql.Complete, leases, null, static r => r.GetGuid(1), cancellationToken);

    /// <inheritdoc />
    public async Task<bool> CompleteAsync(JobLease lease, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        CheckLease(lease);
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already completed.", nameof(transaction));
        var command = new NpgsqlCommand(_sql.Complete, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, new[] { lease.Id });
        command.Parameters.AddWithValue("tokens", NpgsqlDbType.Array | NpgsqlDbType.Uuid, new[] { lease.Token });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long;
    }

    /// <inheritdoc />
    public async Task<JobFailResult> FailAsync(JobLease lease, string reason, CancellationToken cancellationToken = default)
    {
        CheckLease(lease);
        ArgumentNullException.ThrowIfNull(reason);
        var command = _dataSource.CreateCommand(_sql.Fail);
        await using var commandScope = command.ConfigureAwait(false);
        AddLease(command.Parameters, lease);
        AddError(command.Parameters, "error", reason);
        command.Parameters.AddWithValue("backoff", NpgsqlDbType.Interval, _options.RetryBackoff);
        command.Parameters.AddWithValue("max_backoff", NpgsqlDbType.Interval, _options.MaxRetryBackoff);
        command.Parameters.AddWithValue("jitter", NpgsqlDbType.Double, _options.RetryJitter);
        var state = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        return state switch
        {
            null => JobFailResult.Rejected,
            "dead" => JobFailResult.DeadLettered,
            _ => JobFailResult.RetryScheduled,
        };
    }

    /// <inheritdoc />
    public async Task<bool> DeadLetterAsync(JobLease lease, string reason, CancellationToken cancellationToken = default)
    {
        CheckLease(lease);
        ArgumentNullException.ThrowIfNull(reason);
        var command = _dataSource.CreateCommand(_sql.DeadLetter);
        await using var commandScope = command.ConfigureAwait(false);
        AddLease(command.Parameters, lease);
        AddError(command.Parameters, "error", reason);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken = default) => ReleaseAsync(lease, started: true, cancellationToken);

    /// <summary>Gives a job back; one that never <paramref name="started"/> (prefetched) does not count as a release.</summary>
    internal async Task<bool> ReleaseAsync(JobLease lease, bool started, CancellationToken cancellationToken)
    {
        CheckLease(lease);
        var command = _dataSource.CreateCommand(_sql.Release);
        await using var commandScope = command.ConfigureAwait(false);
        AddLease(command.Parameters, lease);
        command.Parameters.AddWithValue("free_releases", NpgsqlDbType.Integer, _options.FreeReleases);
        command.Parameters.AddWithValue("started", NpgsqlDbType.Boolean, started);
        command.Parameters.AddWithValue("max_errors", NpgsqlDbType.Integer, _options.ErrorHistory);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string;
    }

    /// <inheritdoc />
    public async Task<bool> CancelAsync(long jobId, string? reason = null, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var batch = _dataSource.CreateBatch();
        await using var batchScope = batch.ConfigureAwait(false);
        var cancel = new NpgsqlBatchCommand(_sql.Cancel);
        cancel.Parameters.AddWithValue("id", NpgsqlDbType.Bigint, jobId);
        AddError(cancel.Parameters, "reason", reason ?? "cancelled");
        batch.BatchCommands.Add(cancel);
        if (_options.Notify)
        {
            // Delivered at commit, only if the cancel changed something (a no-op cancel wakes a worker for nothing, harmlessly).
            batch.BatchCommands.Add(NotifyCommand(_sql.NotifyPayload + " cancel " + jobId.ToString(CultureInfo.InvariantCulture)));
        }

        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RequeueDeadAsync(long jobId, CancellationToken cancellationToken = default) =>
        await RequeueDeadCoreAsync(jobId, cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task<long> RequeueAllDeadAsync(CancellationToken cancellationToken = default) => RequeueDeadCoreAsync(null, cancellationToken);

    /// <inheritdoc />
    public Task<(long Requeued, long DeadLettered)> RequeueStuckAsync(CancellationToken cancellationToken = default) =>
        RequeueStuckAsync(int.MaxValue, cancellationToken);

    /// <inheritdoc />
    public async Task<(long Requeued, long DeadLettered)> RequeueStuckAsync(int maxJobs, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxJobs, 1);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        long requeued = 0, dead = 0;
        int batch, limit;
        do
        {
            batch = 0;
            limit = (int)Math.Min(_options.BatchSize, maxJobs - requeued - dead);
            var command = _dataSource.CreateCommand(_sql.RequeueStuck);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(HeartbeatTimeoutParameter());
            command.Parameters.AddWithValue("limit", NpgsqlDbType.Integer, limit);
            command.Parameters.AddWithValue("max_errors", NpgsqlDbType.Integer, _options.ErrorHistory);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch++;
                if (string.Equals(reader.GetString(0), "dead", StringComparison.Ordinal))
                {
                    dead++;
                }
                else
                {
                    requeued++;
                }
            }
        }
        while (batch == limit && requeued + dead < maxJobs);

        return (requeued, dead);
    }

    /// <inheritdoc />
    public async Task<long> DeadLetterExhaustedAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        long total = 0;
        int batch;
        do
        {
            var command = _dataSource.CreateCommand(_sql.DeadLetterExhausted);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(HeartbeatTimeoutParameter());
            command.Parameters.AddWithValue("limit", NpgsqlDbType.Integer, _options.BatchSize);
            batch = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += batch;
        }
        while (batch == _options.BatchSize);

        return total;
    }

    /// <inheritdoc />
    public async Task<long> PurgeCompletedAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        long total = 0;
        int batch;
        do
        {
            // One bounded DELETE per round, each its own transaction: no long lock, no huge WAL burst.
            var command = _dataSource.CreateCommand(_sql.Purge);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.AddWithValue("older_than", NpgsqlDbType.Interval, olderThan);
            command.Parameters.AddWithValue("limit", NpgsqlDbType.Integer, _options.BatchSize);
            batch = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += batch;
        }
        while (batch == _options.BatchSize);

        return total;
    }

    /// <inheritdoc />
    public async Task<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _dataSource.CreateCommand(_sql.Stats);
        await using var commandScope = command.ConfigureAwait(false);
        return await ReadStatsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same statistics, read on a connection the caller owns (the probe's own, outside the app's pool).</summary>
    internal async Task<QueueStats> GetStatsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(_sql.Stats, connection);
        await using var commandScope = command.ConfigureAwait(false);
        return await ReadStatsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The app's data source this queue runs on.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The notification payload that wakes this queue's workers.</summary>
    internal string NotifyPayload => _sql.NotifyPayload;

    private async Task<QueueStats> ReadStatsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        command.Parameters.Add(HeartbeatTimeoutParameter());
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new QueueStats(reader.GetInt64(0), reader.GetDouble(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <inheritdoc />
    public async Task<JobInfo?> GetJobAsync(long jobId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _dataSource.CreateCommand(_sql.GetJob);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("id", NpgsqlDbType.Bigint, jobId);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var errors = JsonSerializer.Deserialize<List<JobError>>(reader.GetString(10), JsonSerializerOptions.Web) ?? [];
        return new JobInfo(reader.GetInt64(0), ParseState(reader.GetString(1)), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetString(7))
        {
            Kind = reader.GetString(8),
            Priority = reader.GetInt16(9),
            Errors = errors,
            Releases = reader.GetInt32(11),
        };
    }

    /// <summary>Runs the migration once per process on first use (when <see cref="PostgresQueueOptions.MigrateSchema"/>); a failed run is retried on the next call.</summary>
    internal Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (!_options.MigrateSchema || Volatile.Read(ref _schemaReady))
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
    /// The same, but first checks the version on a connection the caller already holds (inside its transaction: a catalog
    /// read), so a process whose first use is an enqueue in the app's transaction takes no second pool connection.
    /// </summary>
    private async Task EnsureSchemaAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        if (!_options.MigrateSchema || Volatile.Read(ref _schemaReady))
        {
            return;
        }

        if (await IsCurrentAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
        {
            MarkSchemaReady();
            return;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
    }

    private void MarkSchemaReady()
    {
        Volatile.Write(ref _schemaReady, true);
        Log.SchemaReady(_logger, Name, Table);
    }

    private async Task<bool> IsCurrentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var (oid, comment) = await ReadVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        return oid is not null && string.Equals(comment, QueueSql.SchemaMarker, StringComparison.Ordinal);
    }

    private async Task<(long? Oid, string? Comment)> ReadVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_sql.CheckVersion, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("schema", NpgsqlDbType.Text, _sql.SchemaName);
        command.Parameters.AddWithValue("name", NpgsqlDbType.Text, _sql.TableName);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, null);
        }

        return (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    private async Task CheckAdoptableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long oid, string? comment, CancellationToken cancellationToken)
    {
        var columns = new HashSet<string>(StringComparer.Ordinal);
        var command = new NpgsqlCommand(_sql.ListColumns, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("oid", NpgsqlDbType.Bigint, oid);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                columns.Add(reader.GetString(0));
            }
        }

        var missing = QueueSql.RequiredColumns.Where(c => !columns.Contains(c)).ToArray();
        if (missing.Length == 0)
        {
            return; // a queue table of this layout without its marker (created by hand): adopted, its indexes ensured
        }

        var what = comment is not null && comment.StartsWith(QueueSql.SchemaMarkerPrefix, StringComparison.Ordinal)
            ? $"was created by an earlier layout of this queue ({comment}), which is not upgraded in place"
            : "is not a queue table";
        throw new InvalidOperationException(
            $"Queue '{Name}': the table {Table} already exists and {what} (it lacks the columns {string.Join(", ", missing)}). "
            + "Nothing was changed. Point the queue at another table (PostgresQueueOptions.TableName or Schema), or drop or rename the existing one.");
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Action<NpgsqlParameterCollection>? parameters,
        CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        parameters?.Invoke(command.Parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static JobState ParseState(string state) => state switch
    {
        "pending" => JobState.Pending,
        "running" => JobState.Running,
        "completed" => JobState.Completed,
        "cancelled" => JobState.Cancelled,
        _ => JobState.Dead,
    };

    private async Task<EnqueueResult> EnqueueCoreAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, T payload, JobOptions? options, CancellationToken cancellationToken)
    {
        var (maxAttempts, priority) = CheckOptions(options);
        var key = options?.IdempotencyKey;
        var batch = new NpgsqlBatch(connection, transaction);
        await using var batchScope = batch.ConfigureAwait(false);
        if (key is not null)
        {
            var expire = new NpgsqlBatchCommand(_sql.ExpireKey);
            expire.Parameters.AddWithValue("key", NpgsqlDbType.Text, key);
            batch.BatchCommands.Add(expire);
        }

        var insert = new NpgsqlBatchCommand(_sql.Enqueue);
        var p = insert.Parameters;
        p.AddWithValue("kind", NpgsqlDbType.Text, options?.Kind ?? JobKind.Of<T>());
        p.AddWithValue("payload", NpgsqlDbType.Text, JsonSerializer.Serialize(payload, _json));
        p.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)key ?? DBNull.Value });
        p.Add(new NpgsqlParameter("unique_for", NpgsqlDbType.Interval) { Value = options?.UniqueFor is { } uniqueFor ? uniqueFor : DBNull.Value });
        AddSchedule(p, options);
        p.AddWithValue("max_attempts", NpgsqlDbType.Integer, maxAttempts);
        p.AddWithValue("priority", NpgsqlDbType.Smallint, priority);
        batch.BatchCommands.Add(insert);
        if (key is not null)
        {
            var find = new NpgsqlBatchCommand(_sql.FindByKey);
            find.Parameters.AddWithValue("key", NpgsqlDbType.Text, key);
            batch.BatchCommands.Add(find);
        }

        if (_options.Notify)
        {
            batch.BatchCommands.Add(NotifyCommand(_sql.NotifyPayload));
        }

        long? created = null, existing = null;
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            // The key expiry returns no rows and no result set: the first result is the insert's.
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                created = reader.GetInt64(0);
            }

            if (key is not null && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false)
                && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                existing = reader.GetInt64(0);
            }
        }

        if (created is { } id)
        {
            return new EnqueueResult(id, Created: true);
        }

        return existing is { } existingId
            ? new EnqueueResult(existingId, Created: false)
            : throw new InvalidOperationException($"Queue '{Name}': the idempotency key conflicted but its job was gone (purged or cancelled meanwhile); enqueue again.");
    }

    private async Task<IReadOnlyList<long>> EnqueueManyCoreAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, IEnumerable<T> payloads,
        JobOptions? options, CancellationToken cancellationToken)
    {
        if (options?.IdempotencyKey is not null)
        {
            throw new ArgumentException("EnqueueManyAsync takes no idempotency key (one key cannot name many jobs); enqueue keyed jobs one by one.", nameof(options));
        }

        var (maxAttempts, priority) = CheckOptions(options);
        var texts = payloads.Select(p => JsonSerializer.Serialize(p, _json)).ToArray();
        if (texts.Length == 0)
        {
            return [];
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using var batchScope = batch.ConfigureAwait(false);
        var insert = new NpgsqlBatchCommand(_sql.EnqueueMany);
        var p = insert.Parameters;
        p.AddWithValue("kind", NpgsqlDbType.Text, options?.Kind ?? JobKind.Of<T>());
        p.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text, texts);
        AddSchedule(p, options);
        p.AddWithValue("max_attempts", NpgsqlDbType.Integer, maxAttempts);
        p.AddWithValue("priority", NpgsqlDbType.Smallint, priority);
        batch.BatchCommands.Add(insert);
        if (_options.Notify)
        {
            batch.BatchCommands.Add(NotifyCommand(_sql.NotifyPayload));
        }

        var ids = new List<long>(texts.Length);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    private (int MaxAttempts, short Priority) CheckOptions(JobOptions? options)
    {
        var maxAttempts = options?.MaxAttempts ?? _options.MaxAttempts;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1, nameof(options));
        var priority = options?.Priority ?? 0;
        if (priority is < JobOptions.MinPriority or > JobOptions.MaxPriority)
        {
            throw new ArgumentOutOfRangeException(nameof(options), priority, $"JobOptions.Priority must be between {JobOptions.MinPriority} and {JobOptions.MaxPriority}.");
        }

        if (options is { Delay: not null, RunAt: not null })
        {
            throw new ArgumentException("Set JobOptions.Delay or JobOptions.RunAt, not both.", nameof(options));
        }

        if (options?.UniqueFor is { } uniqueFor && uniqueFor <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), uniqueFor, "JobOptions.UniqueFor must be positive.");
        }

        return (maxAttempts, priority);
    }

    private static void AddSchedule(NpgsqlParameterCollection parameters, JobOptions? options)
    {
        parameters.Add(new NpgsqlParameter("delay", NpgsqlDbType.Interval) { Value = options?.Delay is { } delay ? delay : DBNull.Value });
        parameters.Add(new NpgsqlParameter("run_at", NpgsqlDbType.TimestampTz) { Value = options?.RunAt is { } runAt ? runAt.ToUniversalTime() : DBNull.Value });
    }

    private static NpgsqlBatchCommand NotifyCommand(string message)
    {
        var notify = new NpgsqlBatchCommand(QueueSqlNotify);
        notify.Parameters.AddWithValue("channel", NpgsqlDbType.Text, QueueSql.Channel);
        notify.Parameters.AddWithValue("message", NpgsqlDbType.Text, message);
        return notify;
    }

    private const string QueueSqlNotify = "SELECT pg_notify(@channel, @message)";

    private void AddDequeueParameters(NpgsqlParameterCollection parameters, int maxJobs, string[]? kinds)
    {
        parameters.AddWithValue("limit", NpgsqlDbType.Integer, maxJobs);
        parameters.AddWithValue("visibility", NpgsqlDbType.Interval, _options.VisibilityTimeout);
        parameters.Add(new NpgsqlParameter("kinds", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = (object?)kinds ?? DBNull.Value });
    }

    private async Task<IReadOnlyList<T>> ByTokensAsync<T>(string sql, IReadOnlyList<JobLease> leases, Action<NpgsqlParameterCollection, PostgresQueueOptions>? addParameters,
        Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        if (leases.Count == 0)
        {
            return [];
        }

        var ids = new long[leases.Count];
        var tokens = new Guid[leases.Count];
        for (var i = 0; i < leases.Count; i++)
        {
            ids[i] = leases[i].Id;
            tokens[i] = leases[i].Token;
        }

        var command = _dataSource.CreateCommand(sql);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids);
        command.Parameters.AddWithValue("tokens", NpgsqlDbType.Array | NpgsqlDbType.Uuid, tokens);
        addParameters?.Invoke(command.Parameters, _options);
        var held = new List<T>(leases.Count);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            held.Add(read(reader));
        }

        return held;
    }

    private void CheckLease(JobLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!string.Equals(lease.Queue, Name, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The lease belongs to queue '{lease.Queue}', not '{Name}'.", nameof(lease));
        }
    }

    private void AddError(NpgsqlParameterCollection parameters, string name, string error)
    {
        // Every stored error passes through the scrubber: no connection string or token reaches the table.
        parameters.AddWithValue(name, NpgsqlDbType.Text, SecretScrubber.Scrub(error));
        parameters.AddWithValue("max_errors", NpgsqlDbType.Integer, _options.ErrorHistory);
    }

    private async Task<long> RequeueDeadCoreAsync(long? jobId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _dataSource.CreateCommand(_sql.RequeueDead);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Bigint) { Value = jobId is { } id ? id : DBNull.Value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void AddLease(NpgsqlParameterCollection parameters, JobLease lease)
    {
        parameters.AddWithValue("id", NpgsqlDbType.Bigint, lease.Id);
        parameters.AddWithValue("token", NpgsqlDbType.Uuid, lease.Token);
    }

    private NpgsqlParameter HeartbeatTimeoutParameter() =>
        new("heartbeat_timeout", NpgsqlDbType.Interval) { Value = _options.HeartbeatTimeout is { } timeout ? timeout : DBNull.Value };
}
