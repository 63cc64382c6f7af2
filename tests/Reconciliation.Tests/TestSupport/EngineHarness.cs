using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Reconciliation.Tests.TestSupport;

/// <summary>
/// The real engine through DI, on a fake clock, driven tick by tick with <see cref="IReconciler.ReconcileOnceAsync"/>.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private EngineHarness(ServiceProvider provider, FakeTimeProvider time, FakeLogCollector logs)
    {
        Provider = provider;
        Time = time;
        Logs = logs;
    }

    public ServiceProvider Provider { get; }

    public FakeTimeProvider Time { get; }

    public FakeLogCollector Logs { get; }

    public IReconciler Reconciler => Provider.GetRequiredService<IReconciler>();

    internal ReconciliationEngine Engine => Provider.GetRequiredService<ReconciliationEngine>();

    public ReconciliationEvents Events => Provider.GetRequiredService<ReconciliationEvents>();

    /// <summary>Builds the services with a fake clock and a fake logger; <paramref name="configure"/> registers the reconciler.</summary>
    public static EngineHarness Create(Action<IServiceCollection> configure, FakeTimeProvider? time = null)
    {
        time ??= new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton<TimeProvider>(time);
        configure(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new EngineHarness(provider, time, provider.GetFakeLogCollector());
    }

    /// <summary>Code-first: Interval 10 s, no warm-up, default policies unless <paramref name="options"/> changes them.</summary>
    public static EngineHarness Create(Action<ReconciliationOptions>? options, Action<IReconciliationBuilder> build, FakeTimeProvider? time = null) =>
        Create(services => build(services.AddStateReconciliation(o =>
        {
            o.Interval = Interval;
            o.WarmUp = TimeSpan.Zero;
            options?.Invoke(o);
        })), time);

    public Task<ReconciliationReport> TickAsync() => Reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);

    /// <summary>Advances the clock by one interval (or <paramref name="by"/>) and runs a tick.</summary>
    public Task<ReconciliationReport> NextTickAsync(TimeSpan? by = null)
    {
        Time.Advance(by ?? Interval);
        return TickAsync();
    }

    public async Task<HealthReport> CheckHealthAsync(Func<HealthCheckRegistration, bool>? predicate = null) =>
        await Provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(predicate, TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Provider.DisposeAsync();
}
