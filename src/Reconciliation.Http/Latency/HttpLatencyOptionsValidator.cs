using Microsoft.Extensions.Options;
using Reconciliation.Http.Quantiles;

namespace Reconciliation.Http.Latency;

/// <summary>Validates <see cref="HttpLatencyOptions"/> at start; every message names the full key.</summary>
internal sealed class HttpLatencyOptionsValidator : IValidateOptions<HttpLatencyOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpLatencyOptions options)
    {
        var errors = new List<string>();
        var key = options.ConfigurationPath;
        WindowChecks.Check(errors, key, options.Window, options.Slices, options.MinimumRequests);

        foreach (var (group, prefixes) in options.RouteGroups)
        {
            if (string.IsNullOrWhiteSpace(group))
            {
                errors.Add($"{key}:RouteGroups has a group with an empty name.");
                continue;
            }

            if (prefixes is null || prefixes.Count == 0)
            {
                errors.Add($"{key}:RouteGroups:{group} needs at least one route prefix (e.g. /api).");
                continue;
            }

            for (var i = 0; i < prefixes.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(prefixes[i]))
                {
                    errors.Add($"{key}:RouteGroups:{group}:{i} is an empty route prefix.");
                }
            }

            if (options.IncludeOutgoing && string.Equals(group, options.OutgoingResource, StringComparison.Ordinal))
            {
                errors.Add($"{key}:RouteGroups:{group} has the name of {key}:OutgoingResource; give outgoing calls their own resource.");
            }
        }

        if (options.IncludeOutgoing && string.IsNullOrWhiteSpace(options.OutgoingResource))
        {
            errors.Add($"{key}:OutgoingResource is required when {key}:IncludeOutgoing is true.");
        }

        if (options.IncludeOutgoing && string.Equals(options.Resource, options.OutgoingResource, StringComparison.Ordinal))
        {
            errors.Add($"{key}:OutgoingResource must differ from {key}:Resource ('{options.Resource}').");
        }

        if (string.IsNullOrEmpty(options.Resource) && options.RouteGroups.Count == 0 && !options.IncludeOutgoing)
        {
            errors.Add($"{key}:Resource is empty and there are no {key}:RouteGroups: no request would be counted.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>The window checks endpoint and latency options share.</summary>
internal static class WindowChecks
{
    public static void Check(List<string> errors, string key, TimeSpan window, int slices, int minimumRequests)
    {
        if (window <= TimeSpan.Zero)
        {
            errors.Add($"{key}:Window must be positive (was {window}).");
        }

        if (slices < 1 || slices > SlidingQuantileWindow.MaxSlices)
        {
            errors.Add($"{key}:Slices must be between 1 and {SlidingQuantileWindow.MaxSlices} (was {slices}).");
        }

        if (minimumRequests < 1)
        {
            errors.Add($"{key}:MinimumRequests must be at least 1 (was {minimumRequests}).");
        }
    }
}
