using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>Ticks never overlap: a second ReconcileOnceAsync waits for the running one.</summary>
public sealed class TickSerializationTests
{
    [Fact]
    public async Task Two_concurrent_ReconcileOnceAsync_calls_run_one_after_the_other()
    {
        var gate = new TaskCompletionSource();
        var probe = new TestProbe("db", "test.usage") { Gate = gate };
        probe.Set(0.5);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));

        var first = harness.TickAsync();
        await probe.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);
        var second = harness.TickAsync();

        // Unserialized, the second tick would already be inside the probe: probes are called synchronously at tick start.
        Assert.Equal(1, probe.Calls);
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        gate.SetResult();
        var reports = await Task.WhenAll(first, second).WaitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, probe.Calls);
        Assert.Equal(1, probe.MaxConcurrent);
        Assert.Equal([1L, 2L], reports.Select(r => r.Tick).Order());
        Assert.Same(reports.MaxBy(r => r.Tick), harness.Reconciler.LatestReport);
    }

    [Fact]
    public async Task The_latest_report_is_readable_without_running_a_tick()
    {
        var probe = new TestProbe("db", "test.usage");
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));

        Assert.Null(harness.Reconciler.LatestReport);
        var report = await harness.TickAsync();
        Assert.Same(report, harness.Reconciler.LatestReport);
        Assert.Same(report, harness.Reconciler.LatestReport);
        Assert.Equal(1, probe.Calls);
    }

    [Fact]
    public async Task A_cancelled_wait_for_the_tick_gate_leaves_the_running_tick_alone()
    {
        var gate = new TaskCompletionSource();
        var probe = new TestProbe("db", "test.usage") { Gate = gate };
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));
        var first = harness.TickAsync();
        await probe.Entered.Task.WaitAsync(TestContext.Current.CancellationToken);

        using var cancel = new CancellationTokenSource();
        var waiting = harness.Reconciler.ReconcileOnceAsync(cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        gate.SetResult();
        Assert.Equal(1, (await first).Tick);
        Assert.Equal(2, (await harness.TickAsync()).Tick);
    }
}
