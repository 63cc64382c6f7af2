using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Reconciliation.Http.Tests.Infrastructure;

/// <summary>
/// Completes when a number of measurements of an instrument have been recorded — the event itself, not a poll.
/// Started after the app (so after the adapter's listener), it is called after the adapter for each measurement:
/// once it has seen N, the adapter's windows hold N.
/// </summary>
internal sealed class MeasurementSignal : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private int _count;

    private MeasurementSignal(string meter, string instrument, Func<Meter, bool> accept)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Meter.Name == meter && published.Name == instrument && accept(published.Meter))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Arrived());
        _listener.Start();
    }

    /// <summary>Requests served by the app behind <paramref name="services"/> (its own IMeterFactory's hosting meter).</summary>
    public static MeasurementSignal ServerRequestsOf(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        return new("Microsoft.AspNetCore.Hosting", "http.server.request.duration", m => ReferenceEquals(m.Scope, factory));
    }

    /// <summary>Requests served by any app in the process.</summary>
    public static MeasurementSignal ServerRequestsAnywhere() => new("Microsoft.AspNetCore.Hosting", "http.server.request.duration", _ => true);

    /// <summary>Outgoing HttpClient calls anywhere in the process.</summary>
    public static MeasurementSignal ClientRequests() => new("System.Net.Http", "http.client.request.duration", _ => true);

    /// <summary>Completes once <paramref name="count"/> measurements arrived; fails the test, naming <paramref name="what"/>, after a bounded deadline.</summary>
    public async Task WaitForAsync(int count, string what)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_count >= count)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
        }

        try
        {
            await done.Task.WaitAsync(Deadline, Xunit.TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Xunit.Assert.Fail($"Timed out after {Deadline} waiting for {what} (saw {Volatile.Read(ref _count)}).");
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Arrived()
    {
        lock (_gate)
        {
            _count++;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_count >= _waiters[i].Count)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
