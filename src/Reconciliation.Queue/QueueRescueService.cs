using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue;

/// <summary>
/// The built-in rescue: every <see cref="PostgresQueueOptions.RescueInterval"/> each process that registers the queue puts
/// back at most <see cref="PostgresQueueOptions.BatchSize"/> jobs whose lease expired (heartbeats stopped: the worker was
/// killed or stalled), so a dead worker's jobs run again with no rule configured. Leaderless: the statement takes the rows
/// with <c>FOR UPDATE SKIP LOCKED</c>, so replicas rescuing at once never wait on each other nor rescue one job twice.
/// </summary>
internal sealed class QueueRescueService(PostgresJobQueue queue, TimeProvider timeProvider, QueueMetrics metrics, ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!queue.Options.Rescue)
        {
            return;
        }

        using var timer = new PeriodicTimer(queue.Options.RescueInterval, timeProvider);
        try
        {
            do
            {
                await RescueOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    internal async Task RescueOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (requeued, dead) = await queue.RequeueStuckAsync(queue.Options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (requeued + dead > 0)
            {
                metrics.Rescued(queue.Name, requeued + dead);
                Log.Rescued(logger, queue.Name, requeued, dead);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RescueFailed(logger, queue.Name, SecretScrubber.Describe(e));
        }
    }
}
