using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>The dedicated Redis is killed mid-run (as a crash would) and started again on the same port.</summary>
public sealed class ServerRestartTests
{
    private static readonly TimeSpan ReconnectDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stopped_server_reads_as_probe_failed_the_host_keeps_ticking_and_readings_resume_without_negative_rates()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = app.GetDatabase();
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => o.HitRatioWindow = TimeSpan.FromMinutes(1)));
        var reports = new List<ReconciliationReport> { await harness.TickAsync() };

        // Traffic before the crash, so the counters the server restarts with are lower than the last ones seen.
        await db.StringSetAsync("k", "v");
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => db.StringGetAsync("k")));
        var before = await harness.NextTickAsync();
        reports.Add(before);
        Assert.Equal(0, before.ValueOf(SignalNames.ProbeFailed, "redis"));
        Assert.Equal(1.0, before.ValueOf(RedisSignalNames.HitRatio, "redis"));

        await redis.StopAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 3; i++)
        {
            var down = await harness.NextTickAsync();
            reports.Add(down);
            Assert.Equal(1, down.ValueOf(SignalNames.ProbeFailed, "redis"));
            Assert.Contains(down.ProbeFailures, f => f.Resource == "redis");
            Assert.Null(down.ValueOf(RedisSignalNames.Latency, "redis"));

            // The host is alive: the tick completed and the other probes still read.
            Assert.NotNull(down.ValueOf(SignalNames.ProcessWorkingSet, "process"));
        }

        await redis.StartAgainAsync(TestContext.Current.CancellationToken);
        var resumed = await TickUntilAsync(harness, reports, r => r.ValueOf(SignalNames.ProbeFailed, "redis") == 0);
        Assert.NotNull(resumed.ValueOf(RedisSignalNames.Latency, "redis"));
        Assert.NotNull(resumed.ValueOf(RedisSignalNames.ClientsUsage, "redis"));

        // The counter reset was recognised: the first reading after it is a new baseline, not a rate.
        Assert.Null(resumed.ValueOf(RedisSignalNames.EvictionsRate, "redis"));
        Assert.Null(resumed.ValueOf(RedisSignalNames.HitRatio, "redis"));
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Id == 202);

        // Then readings are normal again.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => db.StringGetAsync($"absent:{i}")));
        var after = await harness.NextTickAsync();
        reports.Add(after);
        Assert.Equal(0.0, after.ValueOf(RedisSignalNames.HitRatio, "redis"));
        Assert.Equal(0.0, after.ValueOf(RedisSignalNames.EvictionsRate, "redis"));

        foreach (var report in reports)
        {
            Assert.True(report.ValueOf(RedisSignalNames.EvictionsRate, "redis") is null or >= 0, $"tick {report.Tick}: evictions rate");
            Assert.True(report.ValueOf(RedisSignalNames.HitRatio, "redis") is null or (>= 0 and <= 1), $"tick {report.Tick}: hit ratio");
        }
    }

    private static async Task<ReconciliationReport> TickUntilAsync(ReconcilerHarness harness, List<ReconciliationReport> reports, Func<ReconciliationReport, bool> done)
    {
        // StackExchange.Redis reconnects on its own, on the real clock: tick until the probe reads again, with a bounded deadline.
        ReconciliationReport? last = null;
        var recovered = await Reconciliation.Tests.Eventually.HoldsAsync(async () =>
        {
            last = await harness.NextTickAsync();
            reports.Add(last);
            return done(last);
        }, ReconnectDeadline);
        Assert.True(recovered, $"the probe did not recover within {ReconnectDeadline}: {string.Join("; ", last!.ProbeFailures.Select(f => f.Reason))}");
        return last!;
    }
}
