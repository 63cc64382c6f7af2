using System.Diagnostics.CodeAnalysis;
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
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var command = new NpgsqlCommand(_sql.Migrate, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("lock_name", NpgsqlDbType.Text, "reconciliation.queue:" + Table);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Log.SchemaReady(_logger, Name, Table);
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
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await EnqueueCoreAsync(connection, transaction, payload, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<long>> EnqueueManyAsync<T>(IEnumerable<T> payloads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        var texts = payloads.Select(p => JsonSerializer.Serialize(p, _json)).ToArray();
        if (texts.Length == 0)
        {
            return [];
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _dataSource.CreateCommand(_sql.EnqueueMany);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text, texts);
        command.Parameters.AddWithValue("max_attempts", NpgsqlDbType.Integer, _options.MaxAttempts);
        var ids = new List<long>(texts.Length);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> DequeueAsync(int maxJobs = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxJobs, 1);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _dataSource.CreateCommand(_sql.Dequeue);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("limit", NpgsqlDbType.Integer, maxJobs);
        command.Parameters.AddWithValue("visibility", NpgsqlDbType.Interval, _options.VisibilityTimeout);
        var leases = new List<JobLease>(maxJobs);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leases.Add(new JobLease(Name, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2) + 1, reader.GetInt32(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return leases;
    }

    /// <inheritdoc />
    public Task<bool> HeartbeatAsync(JobLease lease, CancellationToken cancellationToken = default) =>
        SettleAsync(_sql.Heartbeat, lease, null, static (p, o) => p.AddWithValue("visibility", NpgsqlDbType.Interval, o.VisibilityTimeout), cancellationToken);

    /// <inheritdoc />
    public Task<bool> CompleteAsync(JobLease lease, CancellationToken cancellationToken = default) =>
        SettleAsync(_sql.Complete, lease, null, null, cancellationToken);

    /// <inheritdoc />
    public Task<bool> CompleteAsync(JobLease lease, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return SettleAsync(_sql.Complete, lease, transaction, null, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<JobFailResult> FailAsync(JobLease lease, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(reason);
        var command = _dataSource.CreateCommand(_sql.Fail);
        await using var commandScope = command.ConfigureAwait(false);
        AddLease(command.Parameters, lease);
        command.Parameters.AddWithValue("error", NpgsqlDbType.Text, reason);
        command.Parameters.AddWithValue("backoff", NpgsqlDbType.Interval, _options.RetryBackoff);
        command.Parameters.AddWithValue("max_backoff", NpgsqlDbType.Interval, _options.MaxRetryBackoff);
        var state = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        return state switch
        {
            null => JobFailResult.Rejected,
            "dead" => JobFailResult.DeadLettered,
            _ => JobFailResult.RetryScheduled,
        };
    }

    /// <inheritdoc />
    public Task<bool> DeadLetterAsync(JobLease lease, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return SettleAsync(_sql.DeadLetter, lease, null, (p, _) => p.AddWithValue("error", NpgsqlDbType.Text, reason), cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken = default) =>
        SettleAsync(_sql.Release, lease, null, null, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RequeueDeadAsync(long jobId, CancellationToken cancellationToken = default) =>
        await RequeueDeadCoreAsync(jobId, cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task<long> RequeueAllDeadAsync(CancellationToken cancellationToken = default) => RequeueDeadCoreAsync(null, cancellationToken);

    /// <inheritdoc />
    public async Task<(long Requeued, long DeadLettered)> RequeueStuckAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        long requeued = 0, dead = 0;
        int batch;
        do
        {
            batch = 0;
            var command = _dataSource.CreateCommand(_sql.RequeueStuck);
            await using var commandScope = command.ConfigureAwait(false);
            AddStuckParameters(command.Parameters);
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
        while (batch == _options.BatchSize);

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
            AddStuckParameters(command.Parameters);
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
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(_sql.Stats, connection);
        await using var commandScope = command.ConfigureAwait(false);
        return await ReadStatsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The app's data source this queue runs on.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

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

        return new JobInfo(reader.GetInt64(0), ParseState(reader.GetString(1)), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetString(7));
    }

    /// <summary>Runs the migration once per process on first use (when <see cref="PostgresQueueOptions.MigrateSchema"/>); a failed run is retried on the next call.</summary>
    internal Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (!_options.MigrateSchema)
        {
            return Task.CompletedTask;
        }

        var schema = Volatile.Read(ref _schema);
        if (schema is { IsCompletedSuccessfully: true })
        {
            return schema;
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

    internal static JobState ParseState(string state) => state switch
    {
        "pending" => JobState.Pending,
        "running" => JobState.Running,
        "completed" => JobState.Completed,
        _ => JobState.Dead,
    };

    private async Task<EnqueueResult> EnqueueCoreAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, T payload, JobOptions? options, CancellationToken cancellationToken)
    {
        var maxAttempts = options?.MaxAttempts ?? _options.MaxAttempts;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1, nameof(options));
        var key = options?.IdempotencyKey;
        var command = new NpgsqlCommand(_sql.Enqueue, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("payload", NpgsqlDbType.Text, JsonSerializer.Serialize(payload, _json));
            command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)key ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("delay", NpgsqlDbType.Interval) { Value = options?.Delay is { } delay ? delay : DBNull.Value });
            command.Parameters.AddWithValue("max_attempts", NpgsqlDbType.Integer, maxAttempts);
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long id)
            {
                return new EnqueueResult(id, Created: true);
            }
        }

        // The key was taken: ON CONFLICT DO NOTHING waited for the other writer, so the row is visible to a new statement.
        var find = new NpgsqlCommand(_sql.FindByKey, connection, transaction);
        await using var findScope = find.ConfigureAwait(false);
        find.Parameters.AddWithValue("key", NpgsqlDbType.Text, key!);
        var existing = await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return existing is long existingId
            ? new EnqueueResult(existingId, Created: false)
            : throw new InvalidOperationException($"Queue '{Name}': the idempotency key conflicted but its job was gone (purged meanwhile); enqueue again.");
    }

    private async Task<bool> SettleAsync(string sql, JobLease lease, NpgsqlTransaction? transaction, Action<NpgsqlParameterCollection, PostgresQueueOptions>? addParameters,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!string.Equals(lease.Queue, Name, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The lease belongs to queue '{lease.Queue}', not '{Name}'.", nameof(lease));
        }

        NpgsqlCommand command;
        if (transaction is null)
        {
            command = _dataSource.CreateCommand(sql);
        }
        else
        {
            var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already completed.", nameof(transaction));
            command = new NpgsqlCommand(sql, connection, transaction);
        }

        await using (command.ConfigureAwait(false))
        {
            AddLease(command.Parameters, lease);
            addParameters?.Invoke(command.Parameters, _options);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
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

    private void AddStuckParameters(NpgsqlParameterCollection parameters)
    {
        parameters.Add(HeartbeatTimeoutParameter());
        parameters.AddWithValue("limit", NpgsqlDbType.Integer, _options.BatchSize);
    }

    private NpgsqlParameter HeartbeatTimeoutParameter() =>
        new("heartbeat_timeout", NpgsqlDbType.Interval) { Value = _options.HeartbeatTimeout is { } timeout ? timeout : DBNull.Value };
}
