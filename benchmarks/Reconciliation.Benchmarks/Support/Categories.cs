namespace Reconciliation.Benchmarks.Support;

/// <summary>
/// Benchmark categories. Everything not in <see cref="Servers"/> runs by default (and in <c>--short</c>);
/// the server benchmarks start real PostgreSQL/Redis processes and run only with <c>--servers</c>.
/// </summary>
internal static class Categories
{
    /// <summary>The engine's tick: steady state and with violations opening and heals running.</summary>
    public const string Tick = "Tick";

    /// <summary>The latency quantile estimator beside HdrHistogram.</summary>
    public const string Quantile = "Quantile";

    /// <summary>Opt-in: benchmarks that talk to real PostgreSQL/Redis servers from Reconciliation.TestServers.</summary>
    public const string Servers = "Servers";
}
