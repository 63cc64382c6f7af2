namespace Reconciliation.Queue.Workers;

/// <summary>Options of one queue worker (<c>AddQueueWorker</c>).</summary>
public sealed class QueueWorkerOptions
{
    /// <summary>The default number of jobs one worker runs at once: 4.</summary>
    public const int DefaultConcurrency = 4;

    /// <summary>The default wait before polling again when the queue is empty: 1 second.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default wait before retrying when the database cannot be reached: 5 seconds.</summary>
    public static readonly TimeSpan DefaultErrorDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Jobs this worker runs at once; it never leases more than it has free slots for (a prefetch limit), so a busy
    /// worker does not sit on jobs another could run. Default 4.
    /// </summary>
    public int Concurrency { get; set; } = DefaultConcurrency;

    /// <summary>The wait before polling again when no job is due. Default 1 second.</summary>
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
