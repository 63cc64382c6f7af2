using Reconciliation.Http.Quantiles;

namespace Reconciliation.Http.Internal;

/// <summary>
/// The signals a window gives (the in-process groups and the synthetic probe share them): p99, the error ratio,
/// and optionally p95 and p50. Below the minimum of requests the window gives no reading at all.
/// </summary>
internal sealed class WindowSignals
{
    private const int P99 = 0;
    private const int Errors = 1;
    private readonly int _p95 = -1;
    private readonly int _p50 = -1;
    private readonly int _minimumRequests;

    public WindowSignals(bool includeP50, bool includeP95, int minimumRequests, string source)
    {
        _minimumRequests = minimumRequests;
        var signals = new List<SignalDescriptor>
        {
            new(HttpSignalNames.LatencyP99, SignalUnits.Seconds, $"99th percentile of {source} latency over the window."),
            new(HttpSignalNames.ErrorsRatio, SignalUnits.Ratio, $"Share of failed {source} over the window."),
        };
        if (includeP95)
        {
            _p95 = signals.Count;
            signals.Add(new(HttpSignalNames.LatencyP95, SignalUnits.Seconds, $"95th percentile of {source} latency over the window."));
        }

        if (includeP50)
        {
            _p50 = signals.Count;
            signals.Add(new(HttpSignalNames.LatencyP50, SignalUnits.Seconds, $"Median {source} latency over the window."));
        }

        Descriptors = signals;
    }

    public IReadOnlyList<SignalDescriptor> Descriptors { get; }

    public void Write(SignalWriter writer, SlidingQuantileWindow window)
    {
        // A quantile over too few requests is one request's time dressed up as a percentile: no reading instead.
        if (window.Requests >= _minimumRequests)
        {
            writer.Write(Errors, window.FailureRatio);
        }

        if (window.Count < _minimumRequests)
        {
            return;
        }

        writer.Write(P99, window.GetQuantile(0.99));
        if (_p95 >= 0)
        {
            writer.Write(_p95, window.GetQuantile(0.95));
        }

        if (_p50 >= 0)
        {
            writer.Write(_p50, window.GetQuantile(0.50));
        }
    }
}
