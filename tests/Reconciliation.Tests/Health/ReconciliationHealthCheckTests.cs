using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Health;

/// <summary>The health check reads the latest report: severities, tags, staleness, no secrets. It never runs probes.</summary>
public sealed class ReconciliationHealthCheckTests
{
    private const string Slow = "test.latency";
    private const string Down = "test.errors";

    [Fact]
    public async Task Healthy_then_Degraded_then_Unhealthy_by_the_worst_open_violation_severity()
    {
        var (probe, harness) = Build();
        await using var _ = harness;
        probe.Set(Slow, 0.1);
        probe.Set(Down, 0.1);

        await harness.TickAsync();
        Assert.Equal(HealthStatus.Healthy, (await harness.CheckHealthAsync()).Status);

        probe.Set(Slow, 0.9);
        await harness.NextTickAsync();
        var degraded = (await harness.CheckHealthAsync()).Entries["reconciliation"];
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        var slowData = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object>>(degraded.Data["slow/db"]);
        Assert.Equal(("Degraded", "Open", 0.9), ((string)slowData["severity"], (string)slowData["state"], (double)slowData["observed"]));

        probe.Set(Down, 0.9);
        await harness.NextTickAsync();
        var unhealthy = (await harness.CheckHealthAsync()).Entries["reconciliation"];
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.True(unhealthy.Data.ContainsKey("down/db"));
        Assert.Equal("2 open violation(s).", unhealthy.Description);

        probe.Set(Slow, 0.1);
        probe.Set(Down, 0.1);
        await harness.NextTickAsync(); // both close: closed violations do not count
        Assert.Equal(HealthStatus.Healthy, (await harness.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task The_check_reads_the_latest_report_and_never_runs_probes_itself()
    {
        var (probe, harness) = Build();
        await using var _ = harness;
        await harness.TickAsync();

        await harness.CheckHealthAsync();
        await harness.CheckHealthAsync();

        Assert.Equal(1, probe.Calls);
    }

    [Fact]
    public async Task RuleTag_filters_which_rules_count_so_liveness_and_readiness_map_separately()
    {
        var (probe, harness) = Build(checks => checks
            .AddReconciliation("live", tags: ["live"], configure: o => o.RuleTag = "live")
            .AddReconciliation("ready", tags: ["ready"], configure: o => o.RuleTag = "ready"));
        await using var _ = harness;
        probe.Set(Slow, 0.9); // the "slow" rule is tagged ready only
        probe.Set(Down, 0.1);
        await harness.TickAsync();

        var live = await harness.CheckHealthAsync(r => r.Tags.Contains("live"));
        var ready = await harness.CheckHealthAsync(r => r.Tags.Contains("ready"));

        Assert.Equal(HealthStatus.Healthy, live.Status);
        Assert.Equal(HealthStatus.Degraded, ready.Status);
        Assert.False(live.Entries["live"].Data.ContainsKey("slow/db"));
    }

    [Fact]
    public async Task A_report_older_than_three_intervals_reads_Unhealthy_because_the_loop_is_stuck()
    {
        var (_, harness) = Build();
        await using var __ = harness;
        await harness.TickAsync();

        harness.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HealthStatus.Healthy, (await harness.CheckHealthAsync()).Status); // exactly three intervals: not yet
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        var stale = (await harness.CheckHealthAsync()).Entries["reconciliation"];

        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
        Assert.Contains("stuck", stale.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Before_the_first_tick_readiness_is_not_Healthy_and_liveness_is_only_when_asked()
    {
        var (_, harness) = Build(checks => checks
            .AddReconciliation("ready")
            .AddReconciliation("live", configure: o => o.HealthyBeforeFirstTick = true));
        await using var __ = harness;
        _ = harness.Reconciler;

        var report = await harness.CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["ready"].Status);
        Assert.Contains("Not measured yet", report.Entries["ready"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, report.Entries["live"].Status);

        await harness.TickAsync();
        Assert.Equal(HealthStatus.Healthy, (await harness.CheckHealthAsync()).Entries["ready"].Status);
    }

    [Fact]
    public async Task No_report_yet_is_Healthy_while_starting_when_asked_and_Unhealthy_once_the_first_tick_is_overdue()
    {
        var (_, harness) = Build(checks => checks.AddReconciliation(configure: o => o.HealthyBeforeFirstTick = true));
        await using var __ = harness;
        _ = harness.Reconciler; // the engine starts (as the hosted loop would start it)

        var starting = (await harness.CheckHealthAsync()).Entries["reconciliation"];
        Assert.Equal(HealthStatus.Healthy, starting.Status);
        Assert.Contains("waiting for the first", starting.Description, StringComparison.Ordinal);

        // Each check run is a new instance (AddCheck<T>): the grace period must still run from the engine's start.
        harness.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(HealthStatus.Unhealthy, (await harness.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task The_failure_status_of_the_registration_is_used_for_Unhealthy_rules()
    {
        var (probe, harness) = Build(checks => checks.AddReconciliation(failureStatus: HealthStatus.Degraded));
        await using var _ = harness;
        probe.Set(Down, 0.9);
        await harness.TickAsync();

        Assert.Equal(HealthStatus.Degraded, (await harness.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task No_secret_from_a_failing_probe_reaches_the_health_output()
    {
        var (probe, harness) = Build(rules: b => b.AddRule("probe-down", r => { r.Signal = SignalNames.ProbeFailed; r.Above = 0.5; }));
        await using var _ = harness;
        probe.Throw = new InvalidOperationException("Host=db;Username=app;Password=hunter2 refused; see postgres://app:hunter2@db/x");
        await harness.TickAsync();

        var entry = (await harness.CheckHealthAsync()).Entries["reconciliation"];

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.True(entry.Data.ContainsKey("probe-down/db"));
        // The output does carry the probe's failure reason (so this can fail): scrubbed, with the rest of the message kept.
        var reason = Assert.IsType<string>(entry.Data["probe.failed/db/TestProbe"]);
        Assert.Contains("refused", reason, StringComparison.Ordinal);
        var everything = JsonSerializer.Serialize(new { entry.Description, entry.Data, Exception = entry.Exception?.ToString() });
        Assert.DoesNotContain("hunter2", everything, StringComparison.Ordinal);
    }

    private static (TestProbe Probe, EngineHarness Harness) Build(Action<IHealthChecksBuilder>? checks = null, Action<IReconciliationBuilder>? rules = null)
    {
        var probe = new TestProbe("db", Slow, Down);
        var harness = EngineHarness.Create(services =>
        {
            var builder = services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; })
                .AddProbe(_ => probe)
                .AddRule("slow", r => { r.Signal = Slow; r.Above = 0.5; r.Severity = RuleSeverity.Degraded; r.Tags.Add("ready"); })
                .AddRule("down", r => { r.Signal = Down; r.Above = 0.5; r.Severity = RuleSeverity.Unhealthy; r.Tags.Add("live"); r.Tags.Add("ready"); });
            rules?.Invoke(builder);
            var healthChecks = services.AddHealthChecks();
            if (checks is null)
            {
                healthChecks.AddReconciliation();
            }
            else
            {
                checks(healthChecks);
            }
        });
        return (probe, harness);
    }
}
