using Microsoft.Extensions.Logging.Abstractions;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Health;

/// <summary>The heartbeat file on a fake clock: touched once per completed live tick, not while a live rule is Unhealthy.</summary>
public sealed class ReconciliationHeartbeatTests : IDisposable
{
    private const string Signal = "test.usage";
    private readonly string _directory = Directory.CreateTempSubdirectory("reconciliation-heartbeat-unit-").FullName;

    [Fact]
    public async Task The_file_is_touched_once_per_live_tick_with_the_clocks_time_and_not_while_a_live_rule_is_Unhealthy()
    {
        var probe = new TestProbe("db", Signal);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("leak", r => { r.Signal = Signal; r.Above = 0.8; r.Severity = RuleSeverity.Unhealthy; r.Tags.Add("live"); }));
        var (heartbeat, options, file) = Heartbeat(harness);

        heartbeat.Beat(options, null, null);
        Assert.False(File.Exists(file)); // nothing completed yet

        probe.Set(0.1);
        await harness.TickAsync();
        heartbeat.Beat(options, null, null);
        Assert.Equal(harness.Time.GetUtcNow().UtcDateTime, File.GetLastWriteTimeUtc(file));
        var touched = File.GetLastWriteTimeUtc(file);

        harness.Time.Advance(TimeSpan.FromSeconds(5));
        heartbeat.Beat(options, null, null);
        Assert.Equal(touched, File.GetLastWriteTimeUtc(file)); // no new tick, no touch

        await harness.NextTickAsync();
        heartbeat.Beat(options, null, null);
        Assert.Equal(harness.Time.GetUtcNow().UtcDateTime, File.GetLastWriteTimeUtc(file));
        touched = File.GetLastWriteTimeUtc(file);

        probe.Set(0.9); // the live rule opens, Unhealthy
        await harness.NextTickAsync();
        heartbeat.Beat(options, null, null);
        await harness.NextTickAsync();
        heartbeat.Beat(options, null, null);
        Assert.Equal(touched, File.GetLastWriteTimeUtc(file));

        probe.Set(0.1);
        await harness.NextTickAsync();
        heartbeat.Beat(options, null, null);
        Assert.Equal(harness.Time.GetUtcNow().UtcDateTime, File.GetLastWriteTimeUtc(file));
    }

    [Fact]
    public async Task With_Enabled_false_the_file_is_kept_fresh_although_no_tick_comes()
    {
        await using var harness = EngineHarness.Create(o => o.Enabled = false, _ => { });
        var (heartbeat, options, file) = Heartbeat(harness);

        heartbeat.Beat(options, null, null);
        var first = File.GetLastWriteTimeUtc(file);
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        heartbeat.Beat(options, null, null);

        Assert.Equal(first + TimeSpan.FromMinutes(1), File.GetLastWriteTimeUtc(file));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (ReconciliationHeartbeat Heartbeat, HeartbeatOptions Options, string File) Heartbeat(EngineHarness harness)
    {
        var file = Path.Combine(_directory, Guid.NewGuid().ToString("N"), "heartbeat");
        var heartbeat = new ReconciliationHeartbeat(harness.Provider.GetRequiredService<IReconciliationState>(), harness.Time, NullLogger<ReconciliationHeartbeat>.Instance);
        return (heartbeat, new HeartbeatOptions { File = file }, file);
    }
}
