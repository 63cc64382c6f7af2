using Reconciliation.Health;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the liveness and readiness checks <c>MapReconciliationHealthChecks()</c> serves.</summary>
public static class ReconciliationLiveAndReadyHealthChecksBuilderExtensions
{
    /// <summary>The liveness check's name and tag: <c>live</c>.</summary>
    public const string LiveTag = "live";

    /// <summary>The readiness check's tag: <c>ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The liveness registration's name.</summary>
    public const string LiveName = "reconciliation-live";

    /// <summary>The readiness registration's name.</summary>
    public const string ReadyName = "reconciliation-ready";

    /// <summary>
    /// Adds two reconciliation checks: <see cref="LiveName"/> (tag <c>live</c>; only rules tagged <c>live</c> count, and it
    /// is healthy before the first tick so a slow first probe never gets the process restarted) and <see cref="ReadyName"/>
    /// (tag <c>ready</c>; only rules tagged <c>ready</c> count). Your own checks tagged <c>live</c> or <c>ready</c> join them.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configureLive">Further options of the liveness check.</param>
    /// <param name="configureReady">Further options of the readiness check.</param>
    public static IHealthChecksBuilder AddReconciliationLiveAndReady(this IHealthChecksBuilder builder,
        Action<ReconciliationHealthCheckOptions>? configureLive = null, Action<ReconciliationHealthCheckOptions>? configureReady = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddReconciliation(LiveName, tags: [LiveTag], configure: o =>
            {
                o.RuleTag = LiveTag;
                o.HealthyBeforeFirstTick = true;
                configureLive?.Invoke(o);
            })
            .AddReconciliation(ReadyName, tags: [ReadyTag], configure: o =>
            {
                o.RuleTag = ReadyTag;
                configureReady?.Invoke(o);
            });
    }
}
