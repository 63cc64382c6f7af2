using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reconciliation.Health;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the reconciliation health check: <c>services.AddHealthChecks().AddReconciliation()</c>.</summary>
public static class ReconciliationHealthChecksBuilderExtensions
{
    /// <summary>The default registration name, <c>reconciliation</c>.</summary>
    public const string DefaultName = "reconciliation";

    /// <summary>
    /// Adds a check that reads the reconciler's latest report (it never runs probes): Healthy, or the worst open
    /// violation's severity (<c>Unhealthy</c> rules report <paramref name="failureStatus"/>), with per-rule data.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The registration name; register twice with different names and tags for liveness and readiness.</param>
    /// <param name="failureStatus">The status for Unhealthy violations and a stuck loop. Default Unhealthy.</param>
    /// <param name="tags">Tags for health check filtering (<c>live</c>, <c>ready</c>).</param>
    /// <param name="configure">Options: which rules count (<see cref="ReconciliationHealthCheckOptions.RuleTag"/>), staleness.</param>
    public static IHealthChecksBuilder AddReconciliation(this IHealthChecksBuilder builder, string name = DefaultName,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, Action<ReconciliationHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = builder.Services.AddOptions<ReconciliationHealthCheckOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.AddCheck<ReconciliationHealthCheck>(name, failureStatus ?? HealthStatus.Unhealthy, tags ?? []);
    }
}
