using Microsoft.Extensions.Logging;

namespace Reconciliation.Queue.Telemetry;

/// <summary>The queue package's log messages (event ids 300–399): one line per state change or settled job problem, none per healthy job.</summary>
internal static partial class Log
{
    [LoggerMessage(300, LogLevel.Debug, "Queue {Queue}: schema of {Table} is in place", EventName = "QueueSchemaReady")]
    public static partial void SchemaReady(ILogger logger, string queue, string table);

    [LoggerMessage(301, LogLevel.Warning, "Queue {Queue}: completion of job {JobId} rejected: its lease token is stale (the job was requeued), so it was not completed by this worker", EventName = "QueueCompletionRejected")]
    public static partial void CompletionRejected(ILogger logger, string queue, long jobId);

    [LoggerMessage(302, LogLevel.Warning, "Queue {Queue}: lease of job {JobId} lost (it was requeued as stuck); the handler is cancelled and the job will not be settled by this worker", EventName = "QueueLeaseLost")]
    public static partial void LeaseLost(ILogger logger, string queue, long jobId);

    [LoggerMessage(303, LogLevel.Warning, "Queue {Queue}: job {JobId} failed on attempt {Attempt} of {MaxAttempts}; retry scheduled: {Reason}", EventName = "QueueJobRetryScheduled")]
    public static partial void RetryScheduled(ILogger logger, string queue, long jobId, int attempt, int maxAttempts, string reason);

    [LoggerMessage(304, LogLevel.Error, "Queue {Queue}: job {JobId} dead-lettered after attempt {Attempt}: {Reason}", EventName = "QueueJobDeadLettered")]
    public static partial void DeadLettered(ILogger logger, string queue, long jobId, int attempt, string reason);

    [LoggerMessage(305, LogLevel.Warning, "Queue {Queue}: failure of job {JobId} not recorded: its lease token is stale (the job was requeued)", EventName = "QueueFailureRejected")]
    public static partial void FailureRejected(ILogger logger, string queue, long jobId);

    [LoggerMessage(306, LogLevel.Warning, "Queue {Queue}: worker cannot reach the queue, retrying every {Delay}: {Reason}", EventName = "QueueWorkerUnavailable")]
    public static partial void WorkerUnavailable(ILogger logger, string queue, TimeSpan delay, string reason);

    [LoggerMessage(307, LogLevel.Information, "Queue {Queue}: worker reaches the queue again", EventName = "QueueWorkerRecovered")]
    public static partial void WorkerRecovered(ILogger logger, string queue);

    [LoggerMessage(308, LogLevel.Warning, "Queue {Queue}: shutdown timeout reached with {Count} job(s) still running; their leases are released so other workers take them", EventName = "QueueLeasesReleased")]
    public static partial void ReleasingLeases(ILogger logger, string queue, int count);

    [LoggerMessage(309, LogLevel.Warning, "Queue {Queue}: requeued {Requeued} stuck job(s), dead-lettered {Dead} with no attempts left", EventName = "QueueStuckRequeued")]
    public static partial void StuckRequeued(ILogger logger, string queue, long requeued, long dead);

    [LoggerMessage(310, LogLevel.Warning, "Queue {Queue}: dead-lettered {Count} job(s) over their max attempts", EventName = "QueueExhaustedDeadLettered")]
    public static partial void ExhaustedDeadLettered(ILogger logger, string queue, long count);

    [LoggerMessage(311, LogLevel.Information, "Queue {Queue}: purged {Count} completed job(s) older than {Retention}", EventName = "QueuePurged")]
    public static partial void Purged(ILogger logger, string queue, long count, TimeSpan retention);

    [LoggerMessage(312, LogLevel.Warning, "Queue {Queue}: heartbeat of job {JobId} failed (the lease may expire): {Reason}", EventName = "QueueHeartbeatFailed")]
    public static partial void HeartbeatFailed(ILogger logger, string queue, long jobId, string reason);

    [LoggerMessage(313, LogLevel.Warning, "Queue {Queue}: job {JobId} could not be settled ({Action}); its lease will expire and the job will be requeued: {Reason}", EventName = "QueueSettleFailed")]
    public static partial void SettleFailed(ILogger logger, string queue, long jobId, string action, string reason);

    [LoggerMessage(314, LogLevel.Information, "Queue {Queue}: worker {Handler} started with concurrency {Concurrency}", EventName = "QueueWorkerStarted")]
    public static partial void WorkerStarted(ILogger logger, string queue, string handler, int concurrency);

    [LoggerMessage(315, LogLevel.Information, "Queue {Queue}: worker {Handler} stopped", EventName = "QueueWorkerStopped")]
    public static partial void WorkerStopped(ILogger logger, string queue, string handler);

    [LoggerMessage(316, LogLevel.Warning, "Queue {Queue}: purge of completed jobs failed: {Reason}", EventName = "QueuePurgeFailed")]
    public static partial void PurgeFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(317, LogLevel.Warning, "Queue listener: the LISTEN connection is lost, reconnecting (workers poll meanwhile): {Reason}", EventName = "QueueListenerLost")]
    public static partial void ListenerLost(ILogger logger, string reason);

    [LoggerMessage(318, LogLevel.Information, "Queue listener: listening again", EventName = "QueueListenerRecovered")]
    public static partial void ListenerRecovered(ILogger logger);

    [LoggerMessage(319, LogLevel.Warning, "Queue {Queue}: rescued {Requeued} job(s) whose lease expired (a worker died or stalled), dead-lettered {Dead} with no attempts left", EventName = "QueueLeasesRescued")]
    public static partial void Rescued(ILogger logger, string queue, long requeued, long dead);

    [LoggerMessage(320, LogLevel.Warning, "Queue {Queue}: rescue of expired leases failed (retried next interval): {Reason}", EventName = "QueueRescueFailed")]
    public static partial void RescueFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(321, LogLevel.Information, "Queue {Queue}: job {JobId} was cancelled; its handler is cancelled", EventName = "QueueJobCancelled")]
    public static partial void JobCancelled(ILogger logger, string queue, long jobId);

    [LoggerMessage(322, LogLevel.Warning, "Queue {Queue}: recurring job {Name} could not enqueue its slot {Slot} (retried at the next slot): {Reason}", EventName = "QueueRecurringFailed")]
    public static partial void RecurringFailed(ILogger logger, string queue, string name, DateTimeOffset slot, string reason);

    [LoggerMessage(323, LogLevel.Warning, "Queue {Queue}: the probe's data source {ProbeDataSource}, derived from the app's data source, cannot authenticate (its password lives only inside the app's data source, and this Npgsql version does not hand it over to the library's own data source); the probe uses a clone of the app's data source instead, whose Npgsql pool metrics are named after its connection string without the password (host, port, user, database)", EventName = "QueueProbeDataSourceUnnamed")]
    public static partial void ProbeDataSourceUnnamed(ILogger logger, string queue, string probeDataSource);
}
