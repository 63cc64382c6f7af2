using System.Globalization;
using Microsoft.Extensions.Options;

namespace Reconciliation.Redis;

/// <summary>Validates <see cref="RedisReconciliationOptions"/> at start, naming the full key of each bad value.</summary>
internal sealed class RedisReconciliationOptionsValidator : IValidateOptions<RedisReconciliationOptions>
{
    /// <summary>The policies Redis accepts for <c>maxmemory-policy</c>.</summary>
    internal static readonly string[] KnownPolicies =
    [
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    ];

    private static readonly TimeSpan MaxWindow = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, RedisReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.ConfigurationPath;
        var errors = new List<string>();

        if (options.MaxMemoryPolicy is { } policy && Array.IndexOf(KnownPolicies, policy.Trim().ToLowerInvariant()) < 0)
        {
            errors.Add($"{path}:MaxMemoryPolicy '{policy}' is not a Redis maxmemory-policy; use one of {string.Join(", ", KnownPolicies)}.");
        }

        if (options.MaxMemory is < 0)
        {
            errors.Add($"{path}:MaxMemory must be 0 (no limit) or a positive number of bytes (was {options.MaxMemory.Value.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.HitRatioWindow <= TimeSpan.Zero || options.HitRatioWindow > MaxWindow)
        {
            errors.Add($"{path}:HitRatioWindow must be greater than zero and at most {MaxWindow} (was {options.HitRatioWindow}).");
        }

        if (options.ConfigRefreshInterval <= TimeSpan.Zero || options.ConfigRefreshInterval > MaxWindow)
        {
            errors.Add($"{path}:ConfigRefreshInterval must be greater than zero and at most {MaxWindow} (was {options.ConfigRefreshInterval}).");
        }

        if (options.EvictPrefix is not null && string.IsNullOrWhiteSpace(options.EvictPrefix))
        {
            // An empty prefix would match every key: that is a flush, which this library never does.
            errors.Add($"{path}:EvictPrefix must not be empty or white space (an empty prefix would match every key); leave it unset to disable redis.evict-prefix.");
        }

        if (options.EvictBatchSize is < 1 or > 10_000)
        {
            errors.Add($"{path}:EvictBatchSize must be between 1 and 10000 (was {options.EvictBatchSize.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.EvictMaxKeys is < 1 or > 10_000_000)
        {
            errors.Add($"{path}:EvictMaxKeys must be between 1 and 10000000 (was {options.EvictMaxKeys.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.Database < -1)
        {
            errors.Add($"{path}:Database must be -1 (the connection's default) or a database number (was {options.Database.ToString(CultureInfo.InvariantCulture)}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
