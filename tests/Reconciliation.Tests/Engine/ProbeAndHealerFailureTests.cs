using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Engine;

/// <summary>A probe or healer that throws or hangs never stops the tick; timeouts run on the fake clock.</summary>
public sealed class ProbeAndHealerFailureTests
{
    private const string Signal = "test.usage";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_throwing_probe_yields_probe_failed_for_its_resource_only_and_its_reason_has_no_secret()
    {
        var bad = new TestProbe("bad", Signal) { Throw = new InvalidOperationException("cannot connect: Host=db;Password=hunter2") };
        var good = new TestProbe("good", Signal);
        good.Set(0.4);
        bad.Set(0.4);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => bad).AddProbe(_ => good)
            .AddRule("probe-down", r => { r.Signal = SignalNames.ProbeFailed; r.Above = 0.5; r.Severity = RuleSeverity.Unhealthy; }));

        var report = await harness.TickAsync();

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "bad"));
        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "good"));
        Assert.Null(report.ValueOf(Signal, "bad"));
        Assert.Equal(0.4, report.ValueOf(Signal, "good"));
        var failure = Assert.Single(report.ProbeFailures);
        Assert.Equal(("bad", nameof(TestProbe)), (failure.Resource, failure.Probe));
        Assert.StartsWith("InvalidOperationException: cannot connect", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", failure.Reason, StringComparison.Ordinal);
        Assert.Equal("bad", Assert.Single(report.Violations).Resource);
        var logged = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ProbeFailed");
        Assert.DoesNotContain("hunter2", logged.Message, StringComparison.Ordinal);

        // Logged once per state change, not once per failing tick; recovery is logged too.
        await harness.NextTickAsync();
        bad.Throw = null;
        var recovered = await harness.NextTickAsync();
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ProbeFailed");
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ProbeRecovered");
        Assert.Equal(0, recovered.ValueOf(SignalNames.ProbeFailed, "bad"));
        Assert.Equal(0.4, recovered.ValueOf(Signal, "bad"));
    }

    [Fact]
    public async Task A_hanging_probe_times_out_on_the_fake_clock_is_not_started_again_while_running_and_its_late_write_never_lands()
    {
        var gate = new TaskCompletionSource();
        var hung = new TestProbe("hung", Signal) { Gate = gate };
        var good = new TestProbe("good", Signal);
        good.Set(0.3);
        hung.Set(0.99);
        await using var harness = EngineHarness.Create(o => o.ProbeTimeout = ProbeTimeout, b => b.AddProbe(_ => hung).AddProbe(_ => good));
        using var failures = new MetricCollector<long>(harness.Provider.GetRequiredService<IMeterFactory>(), ReconciliationTelemetry.MeterName, "reconciliation.probe.failures");

        var tick = harness.TickAsync();
        await hung.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);
        Assert.True(await good.Finished.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken)); // probes run on the pool
        Assert.False(tick.IsCompleted);            // waiting for the hung probe, on the fake clock
        harness.Time.Advance(ProbeTimeout);
        var first = await tick.WaitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, first.ValueOf(SignalNames.ProbeFailed, "hung"));
        Assert.Equal(0, first.ValueOf(SignalNames.ProbeFailed, "good"));
        Assert.Equal(0.3, first.ValueOf(Signal, "good"));
        Assert.Null(first.ValueOf(Signal, "hung"));
        Assert.Equal("timed out after 00:00:05", Assert.Single(first.ProbeFailures, f => f.Resource == "hung").Reason);

        // Still running: not started a second time, and still failed.
        var second = await harness.NextTickAsync();
        Assert.Equal(1, hung.Calls);
        Assert.Equal(1, second.ValueOf(SignalNames.ProbeFailed, "hung"));
        Assert.Contains("not started again", Assert.Single(second.ProbeFailures, f => f.Resource == "hung").Reason, StringComparison.Ordinal);
        Assert.Equal(2, failures.GetMeasurementSnapshot().Count(m => (string?)m.Tags["resource"] == "hung"));

        // The hung call wakes up and writes 0.99 through the writer it was given: the table must not see it.
        hung.Gate = null;
        gate.SetResult(); // runs the late write and completes the probe's task before it returns
        Assert.Equal(1, hung.Finished.CurrentCount); // the late call has finished (and written)
        Assert.True(double.IsNaN(harness.Engine.Table.Values[SlotOf(harness, Signal, "hung")]));
        Assert.Null(harness.Reconciler.LatestReport!.ValueOf(Signal, "hung"));

        // Free again: the next tick starts it and its reading counts.
        hung.Set(0.42);
        var third = await harness.NextTickAsync();
        Assert.Equal(2, hung.Calls);
        Assert.Equal(0.42, third.ValueOf(Signal, "hung"));
        Assert.Equal(0, third.ValueOf(SignalNames.ProbeFailed, "hung"));
    }

    [Fact]
    public async Task A_probe_that_honours_its_token_is_cancelled_at_the_timeout()
    {
        var slow = new TestProbe("slow", Signal) { Gate = new TaskCompletionSource(), HonourToken = true };
        slow.Set(0.5);
        await using var harness = EngineHarness.Create(o => o.ProbeTimeout = ProbeTimeout, b => b.AddProbe(_ => slow));

        var tick = harness.TickAsync();
        await slow.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);
        harness.Time.Advance(ProbeTimeout);
        var report = await tick.WaitAsync(TestContext.Current.CancellationToken);

        Assert.Equal("timed out after 00:00:05", Assert.Single(report.ProbeFailures, f => f.Resource == "slow").Reason);
        slow.Gate = null;
        Assert.DoesNotContain((await harness.NextTickAsync()).ProbeFailures, f => f.Resource == "slow"); // it finished (cancelled), so it runs again
        Assert.Equal(2, slow.Calls);
    }

    [Fact]
    public async Task A_throwing_healer_counts_as_a_failed_attempt_with_a_scrubbed_reason_and_the_tick_goes_on()
    {
        var probe = new TestProbe("db", Signal);
        var healer = new TestHealer("fix") { Throw = new InvalidOperationException("login failed for postgres://admin:s3cret@db:5432/app") };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"));
        probe.Set(0.9);
        await harness.TickAsync();

        var report = await harness.NextTickAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Failed, heal.Outcome.Kind);
        Assert.StartsWith("InvalidOperationException: login failed", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(report.Violations).Attempts);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Message.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hanging_healer_times_out_on_the_fake_clock_as_failed_and_its_resource_is_not_healed_again_while_it_runs()
    {
        var probe = new TestProbe("db", Signal);
        var gate = new TaskCompletionSource();
        var healer = new TestHealer("fix") { Gate = gate };
        await using var harness = Build(probe, [healer], r => r.Heal.Add("fix"),
            b => b.ConfigureHealer("fix", p => { p.Timeout = TimeSpan.FromSeconds(20); p.Cooldown = TimeSpan.FromSeconds(10); p.BackoffMultiplier = 1; }));
        probe.Set(0.9);
        await harness.TickAsync();

        // t=10: the heal starts; the tick waits for it half an interval, then reports without it (it runs on).
        harness.Time.Advance(EngineHarness.Interval);
        var tick = harness.TickAsync();
        await healer.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);
        harness.Time.Advance(EngineHarness.Interval / 2);
        var started = await tick.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Empty(started.Heals);
        Assert.Equal("a heal of db is still running", Assert.Single(started.Violations).HeldBack);

        // t=30: its 20 s timeout has passed: a failed attempt, reported by the next tick.
        harness.Time.Advance(TimeSpan.FromSeconds(15));
        await harness.Engine.WhenHealOutcomesKnownAsync().WaitAsync(TestContext.Current.CancellationToken);
        var report = await harness.TickAsync();
        var heal = Assert.Single(report.Heals);
        Assert.Equal((HealOutcomeKind.Failed, "timed out after 00:00:20"), (heal.Outcome.Kind, heal.Outcome.Reason));
        Assert.Equal(1, Assert.Single(report.Violations).Attempts);

        // Its cooldown is over but the hung call still runs: no second heal of the same resource.
        var next = await harness.NextTickAsync();
        Assert.Empty(next.Heals);
        Assert.Equal("a heal of db is still running", Assert.Single(next.Violations).HeldBack);
        Assert.Equal(1, healer.Calls);

        healer.Gate = null;
        gate.SetResult(); // the hung call returns now: the resource is free
        await harness.Engine.WhenResourceFreeAsync("db").WaitAsync(TestContext.Current.CancellationToken);
        Assert.Single((await harness.NextTickAsync()).Heals);
        Assert.Equal(2, healer.Calls);
    }

    private static int SlotOf(EngineHarness harness, string signal, string resource)
    {
        var table = harness.Engine.Table;
        for (var i = 0; i < table.Count; i++)
        {
            if (table.Names[i] == signal && table.Resources[i] == resource)
            {
                return i;
            }
        }

        throw new InvalidOperationException("no slot");
    }
}
