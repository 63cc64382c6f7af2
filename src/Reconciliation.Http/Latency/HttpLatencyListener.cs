using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reconciliation.Http.Quantiles;
using Reconciliation.Http.Telemetry;

namespace Reconciliation.Http.Latency;

/// <summary>
/// Listens to the request-duration histograms ASP.NET Core (and optionally <see cref="HttpClient"/>) already records, and
/// feeds every measurement into the sliding window of its route group. Nothing times requests here: the durations are the
/// server's own, one per request, so a group's p99 is a quantile over every request in its window.
/// </summary>
/// <remarks>
/// <para>
/// The measurement callback runs on the request's thread: it matches the route against a prefix array and records into a
/// window, allocation-free and lock-free, and never throws.
/// </para>
/// <para>
/// A measurement carries a duration and tags but no timestamp (ASP.NET Core and <see cref="HttpClient"/> keep their end
/// timestamps to themselves), and a clock read per request would cost more than the rest of the record. So each sample is
/// stamped with a <see cref="CoarseClock"/> that the injected <see cref="TimeProvider"/>'s timer refreshes every tenth of a
/// slice (at most 100 ms): a request counts in the slice of a time at most that much (or, while the thread pool is too busy
/// to run the timer, somewhat more) before its end.
/// </para>
/// </remarks>
internal sealed class HttpLatencyListener : IDisposable
{
    internal const string ServerMeterName = "Microsoft.AspNetCore.Hosting";
    internal const string ServerInstrumentName = "http.server.request.duration";
    internal const string ClientMeterName = "System.Net.Http";
    internal const string ClientInstrumentName = "http.client.request.duration";

    private const string RouteTag = "http.route";
    private const string StatusCodeTag = "http.response.status_code";
    private const string ErrorTypeTag = "error.type";

    private static readonly object ServerState = new();
    private static readonly object ClientState = new();

    private readonly MeterListener _listener;
    private readonly Dictionary<string, SlidingQuantileWindow> _windows = new(StringComparer.Ordinal);
    private readonly RoutePrefix[] _routes;
    private readonly SlidingQuantileWindow? _unmatched;
    private readonly SlidingQuantileWindow? _outgoing;
    private readonly IMeterFactory? _scope;
    private readonly CoarseClock _clock;

    public HttpLatencyListener(IOptions<HttpLatencyOptions> options, TimeProvider timeProvider, IMeterFactory meterFactory, ILogger<HttpLatencyListener> logger)
    {
        var o = options.Value;
        _clock = new CoarseClock(timeProvider, CoarseClock.ResolutionFor(o.Window, o.Slices));
        foreach (var resource in o.Resources())
        {
            _windows[resource] = new SlidingQuantileWindow(o.Window, o.Slices, timeProvider);
        }

        var routes = new List<RoutePrefix>();
        foreach (var (group, prefixes) in o.RouteGroups)
        {
            foreach (var prefix in prefixes)
            {
                routes.Add(new RoutePrefix(prefix.Trim().TrimStart('/'), _windows[group]));
            }
        }

        // Longest prefix first, so /api/admin wins over /api.
        _routes = [.. routes.OrderByDescending(static r => r.Prefix.Length)];
        _unmatched = string.IsNullOrEmpty(o.Resource) ? null : _windows[o.Resource];
        _outgoing = o.IncludeOutgoing ? _windows[o.OutgoingResource] : null;
        _scope = o.OnlyThisHost ? meterFactory : null;

        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (IsServerInstrument(instrument))
                {
                    listener.EnableMeasurementEvents(instrument, ServerState);
                }
                else if (_outgoing is not null && instrument.Meter.Name == ClientMeterName && instrument.Name == ClientInstrumentName)
                {
                    listener.EnableMeasurementEvents(instrument, ClientState);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();

        var source = o.OnlyThisHost ? "this host's ASP.NET Core server" : "every ASP.NET Core server in the process";
        if (_outgoing is not null)
        {
            source += " and outgoing HttpClient calls";
        }

        Log.LatencyListenerStarted(logger, source, string.Join(", ", _windows.Keys), o.Window, o.MinimumRequests);
    }

    /// <summary>The window of <paramref name="resource"/> (a route group or the outgoing resource).</summary>
    public SlidingQuantileWindow WindowOf(string resource) => _windows[resource];

    /// <summary>The clock the listener stamps samples with.</summary>
    internal CoarseClock Clock => _clock;

    public void Dispose()
    {
        _listener.Dispose();
        _clock.Dispose();
    }

    private bool IsServerInstrument(Instrument instrument) =>
        instrument.Meter.Name == ServerMeterName
        && instrument.Name == ServerInstrumentName
        && (_scope is null || ReferenceEquals(instrument.Meter.Scope, _scope));

    private void OnMeasurement(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? route = null;
        var status = 0;
        var errorType = false;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case RouteTag:
                    route = tag.Value as string;
                    break;
                case StatusCodeTag:
                    status = tag.Value switch
                    {
                        int code => code,
                        long code => (int)code,
                        _ => 0,
                    };
                    break;
                case ErrorTypeTag:
                    errorType = true;
                    break;
            }
        }

        if (ReferenceEquals(state, ServerState))
        {
            // A 5xx is the server failing; a 4xx is the client's mistake and not an error of this app.
            GroupOf(route)?.Record(seconds, _clock.Now, failed: status >= 500);
        }
        else
        {
            // No status with an error.type is a transport failure (refused, reset, timed out).
            _outgoing?.Record(seconds, _clock.Now, failed: status >= 500 || (status == 0 && errorType));
        }
    }

    private SlidingQuantileWindow? GroupOf(string? route)
    {
        if (route is not null)
        {
            var path = route.AsSpan().TrimStart('/');
            foreach (var candidate in _routes)
            {
                if (path.StartsWith(candidate.Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    return candidate.Window;
                }
            }
        }

        return _unmatched;
    }

    private readonly record struct RoutePrefix(string Prefix, SlidingQuantileWindow Window);
}
