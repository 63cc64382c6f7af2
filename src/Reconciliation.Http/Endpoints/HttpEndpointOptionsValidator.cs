using Microsoft.Extensions.Options;
using Reconciliation.Http.Internal;
using Reconciliation.Http.Latency;

namespace Reconciliation.Http.Endpoints;

/// <summary>Validates every named <see cref="HttpEndpointOptions"/> at start; messages name the full key.</summary>
internal sealed class HttpEndpointOptionsValidator : IValidateOptions<HttpEndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpEndpointOptions options)
    {
        var errors = new List<string>();
        var key = options.ConfigurationPath;
        if (HttpUrlValidation.Check($"{key}:Uri", options.Uri) is { } uriError)
        {
            errors.Add(uriError);
        }

        if (string.IsNullOrWhiteSpace(options.Method))
        {
            errors.Add($"{key}:Method is required (GET, HEAD, ...).");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:Timeout must be positive (was {options.Timeout}).");
        }

        for (var i = 0; i < options.ExpectedStatusCodes.Count; i++)
        {
            if (options.ExpectedStatusCodes[i] is < 100 or > 599)
            {
                errors.Add($"{key}:ExpectedStatusCodes:{i} must be an HTTP status code, 100..599 (was {options.ExpectedStatusCodes[i]}).");
            }
        }

        WindowChecks.Check(errors, key, options.Window, options.Slices, options.MinimumRequests);
        if (string.IsNullOrWhiteSpace(options.HttpClientName))
        {
            errors.Add($"{key}:HttpClientName is required.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
