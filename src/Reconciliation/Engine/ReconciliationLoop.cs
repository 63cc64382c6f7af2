using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>
/// The hosted loop: a tick right away, then one every <c>Interval</c> on a <see cref="PeriodicTimer"/> driven by the
/// injected <see cref="TimeProvider"/>. Ticks never overlap (a slow tick delays the next); no exception escapes.
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_engine.CurrentOptions.Enabled)
        {
            return;
        }

        // Let the host finish starting before the first tick runs probes against its resources.
        await Task.Yield();
        var interval = _engine.CurrentOptions.Interval;
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            do
            {
                await TickAsync(stoppingToken).ConfigureAwait(false);
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
