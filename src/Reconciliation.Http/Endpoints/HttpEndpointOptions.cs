namespace Reconciliation.Http;

/// <summary>
/// Options of one synthetic endpoint probe (<c>AddHttpEndpoint(name, uri)</c>): what to call every tick, how long to wait,
/// which answers count as success, and the window its latencies and failures are read over.
/// </summary>
public sealed class HttpEndpointOptions
{
    /// <summary>The default timeout of one call, 3 seconds (keep it under the reconciler's <c>ProbeTimeout</c>, 5 seconds by default).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The default window, 5 minutes (30 calls at the default 10-second interval).</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(5);

    /// <summary>The default number of slices, 5.</summary>
    public const int DefaultSlices = 5;

    /// <summary>The default minimum of calls in the window for a reading, 10.</summary>
    public const int DefaultMinimumRequests = 10;

    /// <summary>The default named client asked of <see cref="IHttpClientFactory"/>, <c>Reconciliation.Http</c>.</summary>
    public const string DefaultHttpClientName = "Reconciliation.Http";

    /// <summary>The URL to call. Required: absolute, http or https.</summary>
    public Uri? Uri { get; set; }

    /// <summary>The HTTP method. Default GET.</summary>
    public string Method { get; set; } = "GET";

    /// <summary>How long one call may take; a call that takes longer counts as a failure and reports <c>probe.failed</c>. Default 3 seconds.</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>Status codes that count as success. Empty (the default): any 2xx.</summary>
    public IList<int> ExpectedStatusCodes { get; } = new List<int>();

    /// <summary>The span the signals cover. Default 5 minutes.</summary>
    public TimeSpan Window { get; set; } = DefaultWindow;

    /// <summary>Slices the window rotates through (1..64). Default 5.</summary>
    public int Slices { get; set; } = DefaultSlices;

    /// <summary>Fewer calls than this in the window: no reading. Default 10.</summary>
    public int MinimumRequests { get; set; } = DefaultMinimumRequests;

    /// <summary>Also emit <c>http.latency.p50</c>. Default false.</summary>
    public bool IncludeP50 { get; set; }

    /// <summary>Also emit <c>http.latency.p95</c>. Default false.</summary>
    public bool IncludeP95 { get; set; }

    /// <summary>The named client to ask of <see cref="IHttpClientFactory"/> when the host registered it. Default <c>Reconciliation.Http</c>.</summary>
    public string HttpClientName { get; set; } = DefaultHttpClientName;

    /// <summary>True when <paramref name="statusCode"/> counts as success.</summary>
    internal bool IsExpected(int statusCode) =>
        ExpectedStatusCodes.Count == 0 ? statusCode is >= 200 and < 300 : ExpectedStatusCodes.Contains(statusCode);

    internal string ConfigurationPath { get; set; } = "HttpEndpoints";
}
