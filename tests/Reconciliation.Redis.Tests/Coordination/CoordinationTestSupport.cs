using Reconciliation.TestServers;
using StackExchange.Redis;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>Helpers shared by the coordination tests: a fresh key prefix per test on the shared server, and record builders.</summary>
internal static class CoordinationTestSupport
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static RedisCoordinationOptions Options(RedisServer redis, Action<RedisCoordinationOptions>? configure = null)
    {
        var options = new RedisCoordinationOptions { KeyPrefix = redis.KeyPrefix("coordination-" + Guid.NewGuid().ToString("N")[..8]) };
        configure?.Invoke(options);
        return options;
    }

    public static HealRecord Attempt(string healer, string resource, string? replica, DateTimeOffset startedAt,
        HealOutcomeKind outcome = HealOutcomeKind.Healed, long? token = null) =>
        new(healer, resource, "rule-1", startedAt, outcome, outcome == HealOutcomeKind.Failed ? "it failed" : null)
        {
            Id = Guid.NewGuid(),
            Replica = replica,
            LeaseToken = token,
        };

    public static async Task<RedisValue> LeaseTokenOnServerAsync(IConnectionMultiplexer connection, RedisCoordinationOptions options, string resource) =>
        await connection.GetDatabase().HashGetAsync(options.KeyPrefix + "lease:" + resource, "token");
}
