using Reconciliation.Http.Internal;

namespace Reconciliation.Http.Latency;

/// <summary>
/// Reads one route group's window of the app's own requests: <c>http.latency.p99</c> (p95/p50 when enabled) and
/// <c>http.errors.ratio</c>. No reading while the window holds fewer than the minimum of requests.
/// </summary>
internal sealed class HttpLatencyProbe : IProbe
{
    private readonly HttpLatencyListener _listener;
    private readonly WindowSignals _signals;

    public HttpLatencyProbe(string resource, HttpLatencyListener listener, HttpLatencyOptions options)
    {
        Resource = resource;
        _listener = listener;
        _signals = new WindowSignals(options.IncludeP50, options.IncludeP95, options.MinimumRequests,
            string.Equals(resource, options.OutgoingResource, StringComparison.Ordinal) && options.IncludeOutgoing ? "outgoing HTTP calls" : "requests served");
    }

    public string Resource { get; }

    public IReadOnlyList<SignalDescriptor> Signals => _signals.Descriptors;

    /// <inheritdoc />
    /// <remarks>Reads the in-memory latency window the request listener fills: no I/O.</remarks>
    public ProbeExecution Execution => ProbeExecution.Inline;

    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        _signals.Write(writer, _listener.WindowOf(Resource));
        return ValueTask.CompletedTask;
    }
}
