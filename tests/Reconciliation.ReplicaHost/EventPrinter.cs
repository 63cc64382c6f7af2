using Microsoft.Extensions.Hosting;
using Reconciliation.Status;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// Prints the engine's event stream (<c>{"t":"event","kind":"HealStarted",...}</c>) and, after every tick, the status
/// this replica reports (<c>{"t":"tick","tick":n,"violations":[...]}</c>: each violation with its state, opened time,
/// attempts, current healer, why it is held back, and its signal's last observed value against its clear level).
/// </summary>
internal sealed class EventPrinter : BackgroundService
{
    private static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(50);
    private readonly ReconciliationEvents.Subscription _subscription;
    private readonly ReconciliationStatusProvider _status;
    private readonly TimeProvider _time;

    public EventPrinter(ReconciliationEvents events, ReconciliationStatusProvider status, TimeProvider time)
    {
        // Subscribed before the loop starts, so the first tick's events are not missed.
        _subscription = events.Subscribe(4096);
        _status = status;
        _time = time;
    }

    public override void Dispose()
    {
        _subscription.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PrintEventsAsync(stoppingToken), PrintTicksAsync(stoppingToken));

    private async Task PrintEventsAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var e in _subscription.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                Output.Line("event", json =>
                {
                    json.WriteString("kind", e.Kind.ToString());
                    json.WriteString("timestamp", e.Timestamp);
                    json.StringOrNull("rule", e.Rule);
                    json.StringOrNull("resource", e.Resource);
                    json.StringOrNull("healer", e.Healer);
                    if (e.Attempt is { } attempt)
                    {
                        json.WriteNumber("attempt", attempt);
                    }

                    json.StringOrNull("reason", e.Reason);
                });
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PrintTicksAsync(CancellationToken stoppingToken)
    {
        long last = -1;
        try
        {
            using var timer = new PeriodicTimer(StatusPoll, _time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var status = await _status.GetAsync(history: 0, stoppingToken).ConfigureAwait(false);
                if (status.ReportTime is null || status.Tick == last)
                {
                    continue;
                }

                last = status.Tick;
                Output.Line("tick", json =>
                {
                    json.WriteNumber("tick", status.Tick);
                    json.WriteBoolean("healthy", status.IsHealthy);
                    if (status.HealingPausedUntil is { } paused)
                    {
                        json.WriteString("healingPausedUntil", paused);
                    }

                    json.WriteStartArray("violations");
                    foreach (var v in status.Violations)
                    {
                        json.WriteStartObject();
                        json.WriteString("rule", v.Rule);
                        json.WriteString("resource", v.Resource);
                        json.WriteString("state", v.State.ToString());
                        json.WriteString("openedAt", v.OpenedAt);
                        json.WriteNumber("attempts", v.Attempts);
                        json.StringOrNull("healer", v.CurrentHealer);
                        json.StringOrNull("heldBack", v.HeldBack);
                        if (double.IsFinite(v.Observed))
                        {
                            json.WriteNumber("observed", v.Observed);
                        }

                        json.WriteNumber("clear", v.Clear);
                        json.WriteBoolean("above", v.IsAbove);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                });
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
