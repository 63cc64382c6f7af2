using Microsoft.Extensions.Logging;
using Reconciliation.Http.Internal;
using Reconciliation.Http.Quantiles;
using Reconciliation.Http.Telemetry;

namespace Reconciliation.Http.Endpoints;

/// <summary>
/// Calls one endpoint every tick and keeps a window of the calls: their latencies (p99, optionally p95/p50) and their
/// failures (<c>http.errors.ratio</c>). A call that cannot connect or times out is a failure of the window and also of the
/// probe (it throws, so the engine reports <c>probe.failed</c> = 1 for the resource); an unexpected status is a failed
/// request of a reachable endpoint (the error ratio), not a probe failure.
/// </summary>
internal sealed class HttpEndpointProbe : IProbe, IDisposable
{
    private readonly HttpEndpointOptions _options;
    private readonly Uri _uri;
    private readonly HttpMethod _method;
    private readonly HttpClientSource _clients;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WindowSignals _signals;

    public HttpEndpointProbe(string resource, HttpEndpointOptions options, IHttpClientFactory? clientFactory, TimeProvider timeProvider, ILogger<HttpEndpointProbe> logger)
    {
        Resource = resource;
        _options = options;
        _uri = options.Uri!;
        _method = new HttpMethod(options.Method);
        _clients = new HttpClientSource(clientFactory, options.HttpClientName);
        _time = timeProvider;
        _logger = logger;
        Window = new SlidingQuantileWindow(options.Window, options.Slices, timeProvider);
        _signals = new WindowSignals(options.IncludeP50, options.IncludeP95, options.MinimumRequests, $"calls to {UriDisplay.Safe(_uri)}");
    }

    public string Resource { get; }

    public IReadOnlyList<SignalDescriptor> Signals => _signals.Descriptors;

    internal SlidingQuantileWindow Window { get; }

    internal bool UsesHttpClientFactory => _clients.UsesFactory;

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var started = _time.GetTimestamp();
        int status;
        try
        {
            using var request = new HttpRequestMessage(_method, _uri);
            using var response = await _clients.Get().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Window.Record(_time.GetElapsedTime(started).TotalSeconds, failed: true);
            throw new TimeoutException($"{UriDisplay.Safe(_uri)} did not answer within {_options.Timeout}.");
        }
        catch (OperationCanceledException)
        {
            // The engine's probe timeout or shutdown: the call did not complete, which is a failure of the endpoint too.
            Window.Record(_time.GetElapsedTime(started).TotalSeconds, failed: true);
            throw;
        }
        catch (HttpRequestException)
        {
            // Refused, reset, DNS: no latency to speak of, but a failed call. The engine reports probe.failed from the throw.
            Window.RecordFailure();
            throw;
        }

        var elapsed = _time.GetElapsedTime(started).TotalSeconds;
        var expected = _options.IsExpected(status);
        if (!expected)
        {
            Log.EndpointUnexpectedStatus(_logger, Resource, status);
        }

        Window.Record(elapsed, failed: !expected);
        _signals.Write(writer, Window);
    }

    public void Dispose() => _clients.Dispose();
}
