using System.Text.Json;
using Npgsql;

namespace Reconciliation.Queue;

/// <summary>
/// Options of one PostgreSQL job queue, registered with <c>AddPostgresQueue(name, ...)</c> and bound (optionally)
/// from a configuration section such as <c>Reconciliation:Queues:emails</c>. Validated at start; a bad value fails
/// start with its full key named.
/// </summary>
public sealed class PostgresQueueOptions
{
    /// <summary>The default configuration path prefix of a queue's options: <c>Reconciliation:Queues</c>.</summary>
    public const string SectionPrefix = "Reconciliation:Queues";

    /// <summary>The default schema, <c>public</c>.</summary>
    public const string DefaultSchema = "public";

    /// <summary>The default visibility timeout: 5 minutes.</summary>
    public static readonly TimeSpan DefaultVisibilityTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The default number of attempts before a job is dead-lettered: 5.</summary>
    public const int DefaultMaxAttempts = 5;

    /// <summary>The default first retry delay: 10 seconds (doubling on every further failure).</summary>
    public static readonly TimeSpan DefaultRetryBackoff = TimeSpan.FromSeconds(10);

    /// <summary>The default cap of the retry delay: 10 minutes.</summary>
    public static readonly TimeSpan DefaultMaxRetryBackoff = TimeSpan.FromMinutes(10);

    /// <summary>The default number of rows one purge or requeue statement touches: 1,000.</summary>
    public const int DefaultBatchSize = 1000;

    /// <summary>The default time between two retention purges: 10 minutes.</summary>
    public static readonly TimeSpan DefaultRetentionInterval = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The table that holds the jobs; defaults to the queue's name. Must match <c>^[a-z_][a-z0-9_]{0,46}$</c>
    /// (a plain lower-case identifier, short enough that the index names derived from it stay within PostgreSQL's 63 bytes).
    /// </summary>
    public string? TableName { get; set; }

    /// <summary>The schema of the table. Default <c>public</c>. Same rule as <see cref="TableName"/>.</summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>
    /// The data source to use. When <see langword="null"/>, the app's <see cref="NpgsqlDataSource"/> is taken from DI,
    /// so the queue shares the app's pool (and the app's transactions can enqueue).
    /// </summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>How long a dequeued job stays leased without a heartbeat before it counts as stuck. Default 5 minutes.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = DefaultVisibilityTimeout;

    /// <summary>
    /// A job whose worker has not heartbeated for this long counts as stuck even if its lease has not expired yet.
    /// Default <see langword="null"/>: only the expiry of the lease (<see cref="VisibilityTimeout"/>) counts.
    /// </summary>
    public TimeSpan? HeartbeatTimeout { get; set; }

    /// <summary>Attempts (failures and lost leases) before a job is dead-lettered, for jobs enqueued without their own. Default 5.</summary>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>The delay before the first retry of a failed job; it doubles on every further failure. Default 10 seconds.</summary>
    public TimeSpan RetryBackoff { get; set; } = DefaultRetryBackoff;

    /// <summary>The cap of the retry delay. Default 10 minutes.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = DefaultMaxRetryBackoff;

    /// <summary>
    /// How long completed jobs are kept before the retention service purges them. Default <see langword="null"/>:
    /// kept forever. Dead jobs are never purged.
    /// </summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>Time between two purges when <see cref="Retention"/> is set. Default 10 minutes.</summary>
    public TimeSpan RetentionInterval { get; set; } = DefaultRetentionInterval;

    /// <summary>Rows deleted (purge) or moved (requeue-stuck, dead-letter) per statement, so no statement locks the table for long. Default 1,000.</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>Create the table and its indexes on first use (an idempotent migration). Default true.</summary>
    public bool MigrateSchema { get; set; } = true;

    /// <summary>How payloads are serialized. Default <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public JsonSerializerOptions? SerializerOptions { get; set; }

    /// <summary>The configuration path the options were bound from, for error messages that name the full key.</summary>
    internal string? ConfigurationPath { get; set; }
}
