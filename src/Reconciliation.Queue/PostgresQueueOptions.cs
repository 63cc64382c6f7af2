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

    /// <summary>The default retry jitter: 0.1 (each retry delay is scaled by a random factor in 0.9..1.1).</summary>
    public const double DefaultRetryJitter = 0.1;

    /// <summary>The default number of releases (shutdown with the job unfinished) that do not count as an attempt: 3.</summary>
    public const int DefaultFreeReleases = 3;

    /// <summary>The default number of errors kept per job: 10.</summary>
    public const int DefaultErrorHistory = 10;

    /// <summary>The default time between two rescues of expired leases: 15 seconds.</summary>
    public static readonly TimeSpan DefaultRescueInterval = TimeSpan.FromSeconds(15);

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
    /// How much each retry delay is randomly spread, as a fraction: the delay is scaled by a factor drawn uniformly from
    /// <c>1 - RetryJitter .. 1 + RetryJitter</c>, so jobs that failed together do not retry together. 0 turns it off.
    /// Default 0.1; range 0..1.
    /// </summary>
    public double RetryJitter { get; set; } = DefaultRetryJitter;

    /// <summary>
    /// Releases (a worker shut down before the job finished) that do not count as an attempt; every later release counts,
    /// so a job that always outlives the shutdown grace ends in dead instead of looping across deploys. Default 3.
    /// </summary>
    public int FreeReleases { get; set; } = DefaultFreeReleases;

    /// <summary>How many errors each job keeps (the newest; each passed through <see cref="SecretScrubber.Scrub"/>). Default 10; range 1..100.</summary>
    public int ErrorHistory { get; set; } = DefaultErrorHistory;

    /// <summary>
    /// How often each process running the queue's rescue (every process that registers the queue) looks for jobs whose
    /// lease expired (a killed worker) and puts them back, at most <see cref="BatchSize"/> per statement, with
    /// <c>FOR UPDATE SKIP LOCKED</c> so replicas never contend. Default 15 seconds.
    /// </summary>
    public TimeSpan RescueInterval { get; set; } = DefaultRescueInterval;

    /// <summary>Rescue expired leases on <see cref="RescueInterval"/> without any rule configured. Default true.</summary>
    public bool Rescue { get; set; } = true;

    /// <summary>
    /// The most jobs of this queue running at once across every worker and replica. Default <see langword="null"/>: no
    /// global limit (each worker's <c>Concurrency</c> still applies). When set, dequeues take turns under an advisory lock.
    /// </summary>
    public int? GlobalConcurrency { get; set; }

    /// <summary>
    /// Wake idle workers with <c>pg_notify</c> at enqueue (delivered at commit) and one <c>LISTEN</c> connection per
    /// process; workers still poll every <c>PollInterval</c> as a fallback. Default true.
    /// </summary>
    public bool Notify { get; set; } = true;

    /// <summary>
    /// How long completed jobs are kept before the retention service purges them. Default <see langword="null"/>:
    /// kept forever. Cancelled jobs are purged with them; dead jobs are never purged.
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
