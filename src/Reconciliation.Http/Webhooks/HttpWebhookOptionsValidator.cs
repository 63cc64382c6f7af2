using Microsoft.Extensions.Options;
using Reconciliation.Http.Internal;

namespace Reconciliation.Http.Webhooks;

/// <summary>Validates every named <see cref="HttpWebhookOptions"/> at start; messages name the full key and never the secret.</summary>
internal sealed class HttpWebhookOptionsValidator : IValidateOptions<HttpWebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpWebhookOptions options)
    {
        var errors = new List<string>();
        var key = options.ConfigurationPath;
        if (HttpUrlValidation.Check($"{key}:Url", options.Url) is { } urlError)
        {
            errors.Add(urlError);
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:Timeout must be positive (was {options.Timeout}).");
        }

        if (options.Secret is not null && options.Secret.Length == 0)
        {
            errors.Add($"{key}:Secret is set but empty; remove it for unsigned deliveries or give it a value.");
        }

        if (options.Secret is { Length: > 0 } secret && HttpWebhookSignature.IsMalformed(secret))
        {
            errors.Add($"{key}:Secret starts with whsec_ but the rest is not base64.");
        }

        for (var i = 0; i < options.Secrets.Count; i++)
        {
            if (string.IsNullOrEmpty(options.Secrets[i]))
            {
                errors.Add($"{key}:Secrets:{i} is empty.");
            }
            else if (HttpWebhookSignature.IsMalformed(options.Secrets[i]))
            {
                errors.Add($"{key}:Secrets:{i} starts with whsec_ but the rest is not base64.");
            }
        }

        foreach (var header in options.Headers.Keys)
        {
            if (string.IsNullOrWhiteSpace(header) || header.Any(static c => c <= ' ' || c == ':' || c > '~'))
            {
                errors.Add($"{key}:Headers has an invalid header name.");
            }
        }

        if (!Enum.IsDefined(options.Scope))
        {
            errors.Add($"{key}:Scope must be Process or SharedResource.");
        }

        for (var i = 0; i < options.Resources.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Resources[i]))
            {
                errors.Add($"{key}:Resources:{i} is empty.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.HttpClientName))
        {
            errors.Add($"{key}:HttpClientName is required.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
