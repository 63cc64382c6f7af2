using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Reconciliation.Fleet.Tests.Support;

/// <summary>Reads the Redis coordination journal back through the store's own reader, in the test process (not a replica's).</summary>
internal static class RedisJournal
{
    public static async Task<IReadOnlyList<HealRecord>> RecentAsync(string configuration, string keyPrefix)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.Enabled = false).UseRedisCoordination(configuration, o => o.KeyPrefix = keyPrefix);
        await using var provider = services.BuildServiceProvider();
        var journal = provider.GetRequiredService<IHealJournal>();
        return await journal.RecentAsync(10_000, TestContext.Current.CancellationToken);
    }
}
