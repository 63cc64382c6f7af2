namespace Reconciliation.Http;

/// <summary>
/// Options of <c>AddHttpLatency</c>: how the app's own request durations (ASP.NET Core's
/// <c>http.server.request.duration</c>) are grouped into sliding windows, and which signals each group emits.
/// Every group is a resource (<c>http</c> by default).
/// </summary>
public sealed class HttpLatencyOptions
{
    /// <summary>The default resource (group) name, <c>http</c>.</summary>
    public const string DefaultResource = "http";

    /// <summary>The default resource of outgoing requests, <c>http.outgoing</c>.</summary>
    public const string DefaultOutgoingResource = "http.outgoing";

    /// <summary>The default window, 1 minute.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);

    /// <summary>The default number of slices a window rotates through, 6 (10 seconds each with the default window).</summary>
    public const int DefaultSlices = 6;

    /// <summary>The default minimum of requests in the window for a reading, 20.</summary>
    public const int DefaultMinimumRequests = 20;

    /// <summary>The resource of requests whose route matches no <see cref="RouteGroups"/> prefix (and of all requests when there are no groups). Empty: ignore them. Default <c>http</c>.</summary>
    public string Resource { get; set; } = DefaultResource;

    /// <summary>
    /// Route groups: resource name → route-template prefixes (<c>"api": ["/api"]</c>). A request counts in the group with the longest
    /// matching prefix of its <c>http.route</c> (compared without a leading slash, ignoring case); one window per group.
    /// </summary>
    public IDictionary<string, IList<string>> RouteGroups { get; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

    /// <summary>The span each quantile covers. Default 1 minute.</summary>
    public TimeSpan Window { get; set; } = DefaultWindow;

    /// <summary>Slices the window rotates through (1..64); samples leave the window one slice at a time. Default 6.</summary>
    public int Slices { get; set; } = DefaultSlices;

    /// <summary>Fewer requests than this in the window: no reading (a p99 of three requests is not a p99). Default 20.</summary>
    public int MinimumRequests { get; set; } = DefaultMinimumRequests;

    /// <summary>Also emit <c>http.latency.p50</c>. Default false.</summary>
    public bool IncludeP50 { get; set; }

    /// <summary>Also emit <c>http.latency.p95</c>. Default false.</summary>
    public bool IncludeP95 { get; set; }

    /// <summary>
    /// Count only requests served by the host that called <c>AddHttpLatency</c> (ASP.NET Core meters created by its
    /// <c>IMeterFactory</c>). False counts every ASP.NET Core server in the process. Default true.
    /// </summary>
    public bool OnlyThisHost { get; set; } = true;

    /// <summary>
    /// Also watch outgoing calls (<c>HttpClient</c>'s <c>http.client.request.duration</c>, every client in the process, including
    /// this package's probes and webhooks) as the resource <see cref="OutgoingResource"/>. Default false.
    /// </summary>
    public bool IncludeOutgoing { get; set; }

    /// <summary>The resource of outgoing calls. Default <c>http.outgoing</c>.</summary>
    public string OutgoingResource { get; set; } = DefaultOutgoingResource;

    /// <summary>The resources (groups) these options produce, in a stable order.</summary>
    internal IEnumerable<string> Resources()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(Resource) && seen.Add(Resource))
        {
            yield return Resource;
        }

        foreach (var group in RouteGroups.Keys.Order(StringComparer.Ordinal))
        {
            if (seen.Add(group))
            {
                yield return group;
            }
        }

        if (IncludeOutgoing && !string.IsNullOrEmpty(OutgoingResource) && seen.Add(OutgoingResource))
        {
            yield return OutgoingResource;
        }
    }

    internal string ConfigurationPath { get; set; } = "HttpLatency";
}
