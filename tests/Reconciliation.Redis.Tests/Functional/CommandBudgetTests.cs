using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>
/// What the probe costs the server, counted by the server itself (<c>INFO commandstats</c>): one INFO per tick, the
/// declared policy read from that same INFO (no CONFIG at all), never KEYS or SCAN or MONITOR.
/// </summary>
public sealed class CommandBudgetTests
{
    [Fact]
    public async Task The_probe_sends_one_INFO_per_tick_and_no_CONFIG()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var outside = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));
        var server = outside.GetServers()[0];
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.MaxMemoryPolicy = "noeviction"));
        await harness.TickAsync(); // builds the admin connection; its handshake is not the probe's cost
        var before = await CommandCallsAsync(server);

        const int ticks = 12; // two minutes of 10-second ticks
        for (var i = 0; i < ticks; i++)
        {
            Assert.Equal(0, (await harness.NextTickAsync()).ValueOf(RedisSignalNames.PolicyDrift, "redis"));
        }

        var after = await CommandCallsAsync(server);
        Assert.Equal(ticks + 1, Delta("info")); // + 1: the INFO commandstats that measured "before"
        foreach (var forbidden in new[] { "keys", "scan", "monitor", "flushall", "flushdb", "config|get", "config|set" })
        {
            Assert.Equal(0, Delta(forbidden));
        }

        long Delta(string command) => after.GetValueOrDefault(command) - before.GetValueOrDefault(command);
    }

    private static async Task<Dictionary<string, long>> CommandCallsAsync(IServer server)
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await server.InfoRawAsync("commandstats"))!.Split('\n'))
        {
            // cmdstat_config|get:calls=3,usec=...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
                var value = line[(line.IndexOf("calls=", StringComparison.Ordinal) + 6)..];
                calls[name] = long.Parse(value[..value.IndexOf(',', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }
}
