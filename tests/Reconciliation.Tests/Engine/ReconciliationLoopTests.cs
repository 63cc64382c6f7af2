using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>The hosted loop through a real IHost on the fake clock: a tick at start, then one per Interval; clean stop.</summary>
public sealed class ReconciliationLoopTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30); // a bound on real waiting, never a timing assertion

    [Fact]
    public async Task The_loop_ticks_at_start_and_then_every_Interval_of_the_fake_clock()
    {
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "test.usage");
        using var host = BuildHost(time, b => b.AddProbe(_ => probe));
        var reconciler = host.Services.GetRequiredService<IReconciler>();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await NextProbeCallAsync(probe);                  // the first tick, right away
        Assert.Equal(1, probe.Calls);

        time.Advance(TimeSpan.FromSeconds(9));            // not yet an interval
        time.Advance(TimeSpan.FromSeconds(1));            // now one
        await NextProbeCallAsync(probe);
        time.Advance(TimeSpan.FromSeconds(10));
        await NextProbeCallAsync(probe);
        // Probes run on the pool: the probe has returned, but its tick may still be finishing its report.
        await Eventually.UntilAsync(() => Task.FromResult(reconciler.LatestReport?.Tick == 3), "the third tick reported");
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3, probe.Calls);
        Assert.Equal(Start.AddSeconds(20), reconciler.LatestReport!.Timestamp);
        Assert.Equal(3, reconciler.LatestReport.Tick);
    }

    [Fact]
    public async Task Stopping_the_host_during_a_tick_cancels_it_cleanly_with_no_exception()
    {
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "test.usage") { Gate = new TaskCompletionSource(), HonourToken = true };
        using var host = BuildHost(time, b => b.AddProbe(_ => probe), probeTimeout: TimeSpan.FromMinutes(5));
        var loop = host.Services.GetServices<IHostedService>().OfType<ReconciliationLoop>().Single();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await probe.Entered.Task.WaitAsync(Wait, TestContext.Current.CancellationToken); // a tick is inside the probe
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(loop.ExecuteTask);
        Assert.True(loop.ExecuteTask.IsCompletedSuccessfully);
        Assert.DoesNotContain(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_heal_phase_that_throws_is_logged_and_the_loop_goes_on_and_still_stops_cleanly()
    {
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "test.usage");
        probe.Set(0.9);
        var journal = new ThrowingJournal();
        using var host = BuildHost(time, b => b
            .AddProbe(_ => probe)
            .AddHealer(_ => new TestHealer("fix"))
            .AddRule("r", r => { r.Signal = "test.usage"; r.Above = 0.8; r.Heal.Add("fix"); }),
            services => services.AddSingleton<IHealJournal>(journal)); // registered first: the in-memory default is TryAdd
        var loop = host.Services.GetServices<IHostedService>().OfType<ReconciliationLoop>().Single();
        var logs = host.Services.GetFakeLogCollector();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await NextProbeCallAsync(probe);                  // tick 1: warm-up, no heal, fine
        time.Advance(TimeSpan.FromSeconds(10));
        await NextProbeCallAsync(probe);                  // tick 2: the heal asks the journal, which throws
        await journal.Thrown.Task.WaitAsync(Wait, TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(10));
        await NextProbeCallAsync(probe);                  // tick 3: the loop is still alive
        var reconciler = host.Services.GetRequiredService<IReconciler>();
        await Eventually.UntilAsync(() => Task.FromResult(reconciler.LatestReport?.Tick == 3), "the third tick reported");
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.True(loop.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Name == "JournalFailed" && r.Message.Contains("InvalidOperationException", StringComparison.Ordinal));
        Assert.Equal(3, host.Services.GetRequiredService<IReconciler>().LatestReport!.Tick); // every tick still published its report
        Assert.Equal(3, probe.Calls);
    }

    [Fact]
    public async Task With_Enabled_false_the_loop_does_not_tick_but_the_reconciler_runs_on_demand()
    {
        var time = new FakeTimeProvider(Start);
        var probe = new TestProbe("db", "test.usage");
        using var host = BuildHost(time, b => b.AddProbe(_ => probe), configure: o => o.Enabled = false);

        await host.StartAsync(TestContext.Current.CancellationToken);
        var loop = host.Services.GetServices<IHostedService>().OfType<ReconciliationLoop>().Single();
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Null(host.Services.GetRequiredService<IReconciler>().LatestReport);
        Assert.Equal(0, probe.Calls);

        await host.Services.GetRequiredService<IReconciler>().ReconcileOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, probe.Calls);
        await host.StopAsync(TestContext.Current.CancellationToken);
        Assert.False(loop.ExecuteTask!.IsFaulted); // (cancelled when the host stops before the loop's first await)
    }

    private static async Task NextProbeCallAsync(TestProbe probe) =>
        Assert.True(await probe.Finished.WaitAsync(Wait, TestContext.Current.CancellationToken), "the loop did not tick");

    private static IHost BuildHost(FakeTimeProvider time, Action<IReconciliationBuilder> build, Action<IServiceCollection>? services = null,
        TimeSpan? probeTimeout = null, Action<ReconciliationOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddFakeLogging();
        builder.Services.AddSingleton<TimeProvider>(time);
        services?.Invoke(builder.Services);
        build(builder.Services.AddStateReconciliation(o =>
        {
            o.Interval = TimeSpan.FromSeconds(10);
            o.WarmUp = TimeSpan.Zero;
            o.ProbeTimeout = probeTimeout ?? TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        }));
        return builder.Build();
    }

    private sealed class ThrowingJournal : IHealJournal
    {
        public TaskCompletionSource Thrown { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken)
        {
            Thrown.TrySetResult();
            throw new InvalidOperationException("the journal's database is down");
        }

        public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<DateTimeOffset>>([]);

        public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) => ValueTask.FromResult(0);

        public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<HealRecord>>([]);
    }
}
