using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps liveness and readiness in one call: <c>app.MapReconciliationHealthChecks()</c>.</summary>
public static class ReconciliationHealthEndpointRouteBuilderExtensions
{
    /// <summary>The default liveness path, <c>/healthz/live</c>.</summary>
    public const string DefaultLivePath = "/healthz/live";

    /// <summary>The default readiness path, <c>/healthz/ready</c>.</summary>
    public const string DefaultReadyPath = "/healthz/ready";

    /// <summary>
    /// Maps <paramref name="livePath"/> to the checks tagged <c>live</c> (503 only when Unhealthy: a Degraded app is not
    /// restarted) and <paramref name="readyPath"/> to the checks tagged <c>ready</c> (503 when Degraded or Unhealthy: the
    /// load balancer routes around an app with an open readiness rule). Register the checks with
    /// <c>builder.Services.AddHealthChecks().AddReconciliationLiveAndReady()</c>.
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="livePath">The liveness path. Default <see cref="DefaultLivePath"/>.</param>
    /// <param name="readyPath">The readiness path. Default <see cref="DefaultReadyPath"/>.</param>
    /// <returns>Both endpoints, for further conventions (a host filter, authorization).</returns>
    /// <exception cref="InvalidOperationException">No health check is tagged <c>live</c> or none <c>ready</c>.</exception>
    public static IEndpointConventionBuilder MapReconciliationHealthChecks(this IEndpointRouteBuilder endpoints,
        string livePath = DefaultLivePath, string readyPath = DefaultReadyPath)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(livePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(readyPath);
        var registrations = endpoints.ServiceProvider.GetService<IOptions<HealthCheckServiceOptions>>()?.Value.Registrations ?? [];
        foreach (var tag in new[] { ReconciliationLiveAndReadyHealthChecksBuilderExtensions.LiveTag, ReconciliationLiveAndReadyHealthChecksBuilderExtensions.ReadyTag })
        {
            if (!registrations.Any(r => r.Tags.Contains(tag)))
            {
                throw new InvalidOperationException($"MapReconciliationHealthChecks: no health check is tagged '{tag}'. " +
                    "Register them with builder.Services.AddHealthChecks().AddReconciliationLiveAndReady().");
            }
        }

        var live = endpoints.MapHealthChecks(livePath, new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(ReconciliationLiveAndReadyHealthChecksBuilderExtensions.LiveTag),
        });
        var ready = endpoints.MapHealthChecks(readyPath, new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains(ReconciliationLiveAndReadyHealthChecksBuilderExtensions.ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return new BothEndpoints(live, ready);
    }

    private sealed class BothEndpoints(IEndpointConventionBuilder first, IEndpointConventionBuilder second) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            first.Add(convention);
            second.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            first.Finally(finallyConvention);
            second.Finally(finallyConvention);
        }
    }
}
