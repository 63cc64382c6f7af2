using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// Purges completed jobs older than <see cref="PostgresQueueOptions.Retention"/> every <see cref="PostgresQueueOptions.RetentionInterval"/>,
/// in bounded batches. Idle when no retention is set. Dead jobs are never purged.
/// </summary>
internal sealed class QueueRetentionService(PostgresJobQueue queue, TimeProvider timeProvider, ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (queue.Options.Retention is not { } retention)
        {
            return;
        }

        using var timer = new PeriodicTimer(queue.Options.RetentionInterval, timeProvider);
        try
        {
            do
            {
                await PurgeOnceAsync(retention, stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    internal async Task PurgeOnceAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        try
        {
            var purged = await queue.PurgeCompletedAsync(retention, cancellationToken).ConfigureAwait(false);
            if (purged > 0)
            {
                Log.Purged(logger, queue.Name, purged, retention);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next interval tries again; a purge is never urgent.
            Log.PurgeFailed(logger, queue.Name, SecretScrubber.Describe(e));
        }
    }
}
