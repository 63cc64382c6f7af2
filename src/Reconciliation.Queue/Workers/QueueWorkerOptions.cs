namespace Reconciliation.Queue.Workers;

/// <summary>Options of one queue worker (<c>AddQueueWorker</c>).</summary>
public sealed class QueueWorkerOptions
{
    /// <summary>The default number of jobs one worker runs at once: 4.</summary>
    public const int DefaultConcurrency = 4;

    /// <summary>The most an adaptive prefetch holds, as a multiple of <see cref="Concurrency"/>: 16.</summary>
    public const int MaxPrefetchFactor = 16;

    /// <summary>The default prefetch horizon: 50 milliseconds of work.</summary>
    public static readonly TimeSpan DefaultPrefetchHorizon = TimeSpan.FromMilliseconds(50);

    /// <summary>The default wait before polling again when the queue is empty: 1 second.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default wait before retrying when the database cannot be reached: 5 seconds.</summary>
    public static readonly TimeSpan DefaultErrorDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Jobs this worker runs at once; it never leases more than it has free slots for (a prefetch limit), so a busy
    /// worker does not sit on jobs another could run. Default 4.
    /// </summary>
    public int Concurrency { get; set; } = DefaultConcurrency;

    /// <summary>
    /// Jobs leased ahead of free runners, so a runner that finishes finds the next job in memory and each round trip
    /// leases a batch. They are heartbeated like running jobs and handed back (not counted as a release) at shutdown.
    /// Default <see langword="null"/>: adaptive — as many as the runners finish in <see cref="PrefetchHorizon"/> at the
    /// measured mean job duration (at most <see cref="MaxPrefetchFactor"/> × <see cref="Concurrency"/>, none for jobs
    /// longer than the horizon), so short jobs come in large batches and long jobs are not held away from other replicas.
    /// A number fixes it; 0 turns prefetching off.
    /// </summary>
    public int? Prefetch { get; set; }

    /// <summary>How much work (in time, at the measured mean job duration) the adaptive prefetch keeps in hand. Default 50 ms.</summary>
    public TimeSpan PrefetchHorizon { get; set; } = DefaultPrefetchHorizon;

    /// <summary>
    /// Read payloads strictly: a member the payload type does not have, a missing constructor parameter, or a null for a
    /// non-nullable member makes the job a wrong-shape job, dead-lettered with the reason instead of reaching the handler
    /// with default values. Default true.
    /// </summary>
    public bool StrictPayloads { get; set; } = true;

    /// <summary>
    /// The wait before looking again when no job is due, when no notification arrives first (notifications wake an idle
    /// worker at once; this bounds the delay of scheduled and retried jobs, and of any notification lost). Default 1 second.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>How often a running job's lease is extended. Default: a third of the queue's visibility timeout.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>The wait before trying again when the queue cannot be reached (database down). Default 5 seconds.</summary>
    public TimeSpan ErrorDelay { get; set; } = DefaultErrorDelay;

    /// <summary>
    /// Fault injection for tests: when it answers true for a job after its handler returned, the worker behaves as if its
    /// process died there: no completion, no failure, no release, and its heartbeat stops.
    /// </summary>
    internal Func<JobLease, bool>? SimulateCrash { get; set; }
}
