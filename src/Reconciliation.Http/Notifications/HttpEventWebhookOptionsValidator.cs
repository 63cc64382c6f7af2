using Microsoft.Extensions.Options;
using Reconciliation.Http.Internal;

namespace Reconciliation.Http;

/// <summary>Validates <see cref="HttpEventWebhookOptions"/> at start; messages name the full key and never a secret.</summary>
internal sealed class HttpEventWebhookOptionsValidator : IValidateOptions<HttpEventWebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpEventWebhookOptions options)
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

        if (options.MaxAttempts is < 1 or > 10)
        {
            errors.Add($"{key}:MaxAttempts must be 1 to 10 (was {options.MaxAttempts}).");
        }

        var secrets = new[] { options.Secret }.Concat(options.Secrets).ToArray();
        for (var i = 0; i < secrets.Length; i++)
        {
            var where = i == 0 ? $"{key}:Secret" : $"{key}:Secrets:{i - 1}";
            if (secrets[i] is { Length: 0 } && i > 0)
            {
                errors.Add($"{where} is empty.");
            }
            else if (secrets[i] is { Length: > 0 } secret && HttpWebhookSignature.IsMalformed(secret))
            {
                errors.Add($"{where} starts with whsec_ but the rest is not base64.");
            }
        }

        for (var i = 0; i < options.Kinds.Count; i++)
        {
            if (!Enum.IsDefined(options.Kinds[i]))
            {
                errors.Add($"{key}:Kinds:{i} is not an event kind.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
