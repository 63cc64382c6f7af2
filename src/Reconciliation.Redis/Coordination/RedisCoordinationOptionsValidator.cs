using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// Validates <see cref="RedisCoordinationOptions"/> at start, naming the full key of each bad value. The configuration
/// string carries the password: a bad one is reported by its key only, never echoed.
/// </summary>
internal sealed class RedisCoordinationOptionsValidator : IValidateOptions<RedisCoordinationOptions>
{
    private const string Path = RedisCoordinationOptions.SectionPath;

    public ValidateOptionsResult Validate(string? name, RedisCoordinationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (KeyPrefixProblem(options.KeyPrefix) is { } problem)
        {
            errors.Add($"{Path}:KeyPrefix {problem}");
        }

        if (options.LeaseTimeToLive < RedisCoordinationDefaults.MinLeaseTimeToLive || options.LeaseTimeToLive > RedisCoordinationDefaults.MaxLeaseTimeToLive)
        {
            errors.Add($"{Path}:LeaseTimeToLive must be between {RedisCoordinationDefaults.MinLeaseTimeToLive} and {RedisCoordinationDefaults.MaxLeaseTimeToLive} (was {options.LeaseTimeToLive}).");
        }

        if (options.JournalMaxLength < RedisCoordinationDefaults.MinJournalMaxLength || options.JournalMaxLength > RedisCoordinationDefaults.MaxJournalMaxLength)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{Path}:JournalMaxLength must be between {RedisCoordinationDefaults.MinJournalMaxLength} and {RedisCoordinationDefaults.MaxJournalMaxLength} (was {options.JournalMaxLength})."));
        }

        if (options.Database < -1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{Path}:Database must be -1 (the connection's default) or a database number (was {options.Database})."));
        }

        if (options.Configuration is { } configuration && ConfigurationProblem(configuration) is { } bad)
        {
            errors.Add($"{Path}:Configuration {bad} (the value is not shown: it may hold a password).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>True when <paramref name="prefix"/> holds a Redis Cluster hash tag: a non-empty <c>{...}</c>.</summary>
    internal static bool HasHashTag(string prefix)
    {
        var open = prefix.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return false;
        }

        var close = prefix.IndexOf('}', open + 1);
        return close > open + 1;
    }

    private static string? KeyPrefixProblem(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return "must not be empty (every key of the store lives under it).";
        }

        if (prefix.Length > RedisCoordinationDefaults.KeyPrefixMaxLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"must be at most {RedisCoordinationDefaults.KeyPrefixMaxLength} characters (was {prefix.Length}).");
        }

        if (prefix.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return "must not contain white space or control characters.";
        }

        if (prefix.Contains('{', StringComparison.Ordinal) && !HasHashTag(prefix))
        {
            return $"'{prefix}' opens a hash tag it does not close: write it as '{{name}}:' (a non-empty tag), or use no braces.";
        }

        return null;
    }

    private static string? ConfigurationProblem(string configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            return "must not be empty";
        }

        try
        {
            var parsed = ConfigurationOptions.Parse(configuration);
            return parsed.EndPoints.Count == 0 ? "names no server endpoint" : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // The parser's message may quote the configuration; only its type is named.
            return $"is not a valid StackExchange.Redis configuration string ({e.GetType().Name})";
        }
    }
}
