namespace Reconciliation;

/// <summary>
/// Liveness and readiness for a worker without an HTTP server (bound from <c>Reconciliation:Heartbeat</c>): a file
/// touched after each healthy tick, for a Kubernetes <c>exec</c> probe that checks its age, and TCP ports that accept
/// connections only while the process is live or ready, for <c>tcpSocket</c> probes (the style of
/// Microsoft.Extensions.Diagnostics.Probes). All off by default. See docs/observability.md for the probe specs.
/// </summary>
public sealed class HeartbeatOptions
{
    /// <summary>The highest port number.</summary>
    internal const int MaxPort = 65535;

    /// <summary>
    /// A file whose modification time is set to now after each completed tick that is live (see <see cref="LiveRuleTag"/>);
    /// created (with its directory) when missing. Its age tells an <c>exec</c> probe whether the loop runs and is healthy:
    /// a loop that stops ticking, or an Unhealthy violation of a live rule, stops the touches. Null (the default): no file.
    /// </summary>
    public string? File { get; set; }

    /// <summary>A TCP port that accepts connections only while the process is live. Null (the default): none. The usual choice is 2305.</summary>
    public int? LivenessPort { get; set; }

    /// <summary>A TCP port that accepts connections only while the process is ready. Null (the default): none. The usual choice is 2307.</summary>
    public int? ReadinessPort { get; set; }

    /// <summary>
    /// The rules whose Unhealthy violations make the process not live (no touch, the liveness port closed): those carrying
    /// this tag. Default <c>live</c>, so a database outage (a readiness matter) never restarts the process; null counts every rule.
    /// The loop's own progress always counts: no completed tick for <see cref="StaleAfterIntervals"/> intervals is not live.
    /// </summary>
    public string? LiveRuleTag { get; set; } = "live";

    /// <summary>The rules whose Unhealthy violations make the process not ready (the readiness port closed). Default null: every rule.</summary>
    public string? ReadyRuleTag { get; set; }

    /// <summary>No completed tick for this many intervals counts as a stuck loop (not live, not ready). Default 3.</summary>
    public double StaleAfterIntervals { get; set; } = 3;
}
