using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>
/// The background loop: one tick per <see cref="ReconciliationOptions.Interval"/> on a <see cref="PeriodicTimer"/>
/// over the <see cref="TimeProvider"/>. <see cref="ReconciliationOptions.Enabled"/> is read on every period, so a
/// reload can pause and resume it. On shutdown, running heals are cancelled and journaled before the host stops.
/// </summary>
internal sealed class ReconciliationLoop : BackgroundService
{
    private readonly ReconciliationEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ReconciliationLoop(ReconciliationEngine engine, TimeProvider timeProvider, ILogger<ReconciliationLoop> logger)
    {
        _engine = engine;
        _time = timeProvider;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _engine.StopHealsAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting before the first tick runs probes against its resources.
        await Task.Yield();
        var interval = _engine.CurrentOptions.Interval;
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            do
            {
                if (_engine.LoopEnabled)
                {
                    await TickAsync(stoppingToken).ConfigureAwait(false);
                }

                var current = _engine.CurrentOptions.Interval;
                if (current != interval)
                {
                    interval = current;
                    timer.Period = interval; // a reloaded Interval applies from the next period
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private async Task TickAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _engine.ReconcileOnceAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            Log.TickFailed(_logger, e);
        }
    }
}
