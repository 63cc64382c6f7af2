using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Reconciliation.Redis.Tests;

/// <summary>
/// Drives the real engine tick by tick on a fake clock: the host's services, FakeLogger logging, the reconciler.
/// The background loop is never started; a test calls <see cref="TickAsync"/> and advances the clock itself.
/// </summary>
internal sealed class ReconcilerHarness : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private ReconcilerHarness(ServiceProvider services, FakeTimeProvider time)
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

    public static ReconcilerHarness Create(Action<IReconciliationBuilder> configure, Action<IServiceCollection>? services = null,
        Action<ReconciliationOptions>? options = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var collection = new ServiceCollection();
        collection.AddFakeLogging();
        collection.AddSingleton<TimeProvider>(time);
        services?.Invoke(collection);
        var builder = collection.AddStateReconciliation(o =>
        {
            o.WarmUp = TimeSpan.Zero;
            o.Interval = Interval;
            options?.Invoke(o);
        });
        configure(builder);
        return new ReconcilerHarness(collection.BuildServiceProvider(validateScopes: true), time);
    }

    /// <summary>Advances the fake clock by <paramref name="advance"/> (default: none) and runs one tick.</summary>
    public Task<ReconciliationReport> TickAsync(TimeSpan? advance = null)
    {
        if (advance is { } by)
        {
            Time.Advance(by);
        }

        return Reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Advances one interval and ticks.</summary>
    public Task<ReconciliationReport> NextTickAsync() => TickAsync(Interval);

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
