namespace Reconciliation.Http;

/// <summary>Names of the signals this package emits (the public contract rules refer to).</summary>
public static class HttpSignalNames
{
    /// <summary>The 99th percentile of request latency over the window, seconds.</summary>
    public const string LatencyP99 = "http.latency.p99";

    /// <summary>The 95th percentile of request latency over the window, seconds (opt-in).</summary>
    public const string LatencyP95 = "http.latency.p95";

    /// <summary>The median request latency over the window, seconds (opt-in).</summary>
    public const string LatencyP50 = "http.latency.p50";

    /// <summary>The share of failed requests over the window (0..1): 5xx answers, or for a probe also unexpected statuses, timeouts and refused connections.</summary>
    public const string ErrorsRatio = "http.errors.ratio";
}
