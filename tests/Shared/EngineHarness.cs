using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Reconciliation.Tests;

/// <summary>
/// The engine driven tick by tick on a fake clock, with captured logs, for the adapters' functional tests against real
/// servers (shared by the PostgreSQL and PgBouncer test projects). Rule timing runs on the fake clock; the servers' own
/// ages (now() - state_change) come from their clocks, so tests wait for those with <see cref="Eventually"/>.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private EngineHarness(ServiceProvider services, FakeTimeProvider time)
    {
        Services = services;
        Time = time;
        Reconciler = services.GetRequiredService<IReconciler>();
        Logs = services.GetFakeLogCollector();
    }

    public ServiceProvider Services { get; }

    public FakeTimeProvider Time { get; }

    public IReconciler Reconciler { get; }

    public FakeLogCollector Logs { get; }

    public static EngineHarness Create(Action<IReconciliationBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var collection = new ServiceCollection();
        collection.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false);
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug));
        collection.AddSingleton<TimeProvider>(time);
        var builder = collection.AddStateReconciliation(o =>
        {
            o.WarmUp = TimeSpan.Zero;
            o.Interval = Interval;
        });
        configure(builder);
        services?.Invoke(collection);
        return new EngineHarness(collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), time);
    }

    /// <summary>Runs one tick, then moves the fake clock on by one interval.</summary>
    public async Task<ReconciliationReport> TickAsync()
    {
        var report = await Reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        Time.Advance(Interval);
        return report;
    }

    /// <summary>Ticks until a tick heals (the engine heals from the tick after the one that first sees the breach); at most five ticks.</summary>
    public async Task<ReconciliationReport> TickUntilHealAsync()
    {
        ReconciliationReport report = null!;
        for (var i = 0; i < 5; i++)
        {
            report = await TickAsync();
            if (report.Heals.Count > 0)
            {
                return report;
            }
        }

        return report;
    }

    public static Violation? ViolationOf(ReconciliationReport report, string rule) =>
        report.Violations.FirstOrDefault(v => v.Rule == rule);

    public static bool IsOpen(ReconciliationReport report, string rule) =>
        ViolationOf(report, rule) is { State: not ViolationState.Closed };

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
