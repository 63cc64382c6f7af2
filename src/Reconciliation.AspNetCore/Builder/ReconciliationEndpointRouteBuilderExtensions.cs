using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reconciliation;
using Reconciliation.AspNetCore.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the reconciliation status page and operator controls: <c>app.MapReconciliation("/reconciliation", o => o.MutationPolicy = "ops")</c>.</summary>
public static class ReconciliationEndpointRouteBuilderExtensions
{
    /// <summary>The default path prefix, <c>/reconciliation</c>.</summary>
    public const string DefaultPattern = "/reconciliation";

    /// <summary>
    /// Maps, under <paramref name="pattern"/>: the status page (<c>GET {pattern}</c>), its JSON (<c>GET {pattern}/status.json</c>),
    /// the silences (<c>GET</c>/<c>POST {pattern}/silences</c>, <c>DELETE {pattern}/silences/{id}</c>), the proposals
    /// (<c>GET {pattern}/proposals</c>, <c>POST {pattern}/proposals/{id}/approve</c> and <c>/reject</c>), the operator pause
    /// (<c>POST {pattern}/pause</c>, <c>POST {pattern}/resume</c>) and one tick (<c>POST {pattern}/tick</c>).
    /// Changes require <see cref="ReconciliationEndpointOptions.MutationPolicy"/> and a JSON body.
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="pattern">The path prefix. Default <see cref="DefaultPattern"/>.</param>
    /// <param name="configure">Who may read and who may change; <see cref="ReconciliationEndpointOptions.MutationPolicy"/> is required.</param>
    /// <returns>The group of endpoints, for further conventions (rate limiting, CORS, a host filter).</returns>
    /// <exception cref="InvalidOperationException">
    /// No mutation policy is named (and anonymous mutation is not allowed explicitly), a named policy does not exist,
    /// authorization is not registered, or <c>AddStateReconciliation()</c> was not called.
    /// </exception>
    public static RouteGroupBuilder MapReconciliation(this IEndpointRouteBuilder endpoints, string pattern = DefaultPattern,
        Action<ReconciliationEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var options = new ReconciliationEndpointOptions();
        configure?.Invoke(options);
        Validate(endpoints.ServiceProvider, options);

        var handlers = new ControlEndpoints(options);
        var group = endpoints.MapGroup(pattern);
        Secure(group.MapGet("", (RequestDelegate)ControlEndpoints.PageAsync).WithDisplayName("Reconciliation status page"), options, mutation: false);
        Secure(group.MapGet("status.json", (RequestDelegate)handlers.StatusAsync).WithDisplayName("Reconciliation status"), options, mutation: false);
        Secure(group.MapGet("silences", (RequestDelegate)ControlEndpoints.SilencesAsync).WithDisplayName("Reconciliation silences"), options, mutation: false);
        Secure(group.MapGet("proposals", (RequestDelegate)ControlEndpoints.ProposalsAsync).WithDisplayName("Reconciliation proposals"), options, mutation: false);
        Secure(group.MapPost("silences", (RequestDelegate)ControlEndpoints.AddSilenceAsync).WithDisplayName("Reconciliation: add a silence"), options, mutation: true);
        Secure(group.MapDelete("silences/{id}", (RequestDelegate)ControlEndpoints.ExpireSilenceAsync).WithDisplayName("Reconciliation: expire a silence"), options, mutation: true);
        Secure(group.MapPost("proposals/{id}/approve", (RequestDelegate)ControlEndpoints.ApproveAsync).WithDisplayName("Reconciliation: approve a proposal"), options, mutation: true);
        Secure(group.MapPost("proposals/{id}/reject", (RequestDelegate)ControlEndpoints.RejectAsync).WithDisplayName("Reconciliation: reject a proposal"), options, mutation: true);
        Secure(group.MapPost("pause", (RequestDelegate)ControlEndpoints.PauseAsync).WithDisplayName("Reconciliation: pause healing"), options, mutation: true);
        Secure(group.MapPost("resume", (RequestDelegate)ControlEndpoints.ResumeAsync).WithDisplayName("Reconciliation: resume healing"), options, mutation: true);
        Secure(group.MapPost("tick", (RequestDelegate)ControlEndpoints.TickAsync).WithDisplayName("Reconciliation: run one tick"), options, mutation: true);
        return group;
    }

    private static void Secure(IEndpointConventionBuilder endpoint, ReconciliationEndpointOptions options, bool mutation)
    {
        if (mutation)
        {
            if (options.MutationPolicy is { } policy)
            {
                endpoint.RequireAuthorization(policy);
            }
            else
            {
                endpoint.AllowAnonymous();
            }

            return;
        }

        var read = options.ReadPolicy ?? (options.AllowAnonymousReads ? null : options.MutationPolicy);
        if (read is not null)
        {
            endpoint.RequireAuthorization(read);
        }
        else
        {
            endpoint.AllowAnonymous();
        }
    }

    private static void Validate(IServiceProvider services, ReconciliationEndpointOptions options)
    {
        const string Prefix = "MapReconciliation: ";
        if (string.IsNullOrWhiteSpace(options.MutationPolicy) && !options.AllowAnonymousMutations)
        {
            throw new InvalidOperationException(Prefix + "name the authorization policy that may change the controls " +
                "(o => o.MutationPolicy = \"<policy>\", registered with builder.Services.AddAuthorization(a => a.AddPolicy(...))). " +
                "Silences, approvals, the pause and ticks are never open to anonymous callers unless AllowAnonymousMutations = true is set explicitly.");
        }

        if (options.History is < 0 or > 1000)
        {
            throw new InvalidOperationException(Prefix + $"History must be 0 to 1000 (was {options.History}).");
        }

        if (services.GetService<IReconciler>() is null)
        {
            throw new InvalidOperationException(Prefix + "the reconciliation services are not registered: call builder.Services.AddStateReconciliation(...) first.");
        }

        foreach (var policy in new[] { options.MutationPolicy, options.ReadPolicy })
        {
            if (string.IsNullOrWhiteSpace(policy))
            {
                continue;
            }

            if (services.GetService<IAuthorizationPolicyProvider>() is not { } provider)
            {
                throw new InvalidOperationException(Prefix + $"the policy '{policy}' is named but authorization is not registered: call builder.Services.AddAuthorization(...).");
            }

            // The default provider answers from the options at once; a custom provider (one that builds policies on
            // demand, perhaps remotely) is trusted to know its own names.
            if (provider is DefaultAuthorizationPolicyProvider
                && services.GetRequiredService<IOptions<AuthorizationOptions>>().Value.GetPolicy(policy) is null)
            {
                throw new InvalidOperationException(Prefix + $"no authorization policy named '{policy}' is registered (AddAuthorization(a => a.AddPolicy(\"{policy}\", ...))).");
            }
        }
    }
}
