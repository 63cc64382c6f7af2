using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Reconciliation.Queue.Tests.Support;

/// <summary>
/// The reconciler as a separate process would run it: the queue's probe and healers, one rule on <c>queue.stuck</c> healed by
/// <c>queue.requeue-stuck</c>, ticks driven by the test on a fake clock (heal policies are about ticks, not wall time).
/// </summary>
internal sealed class EngineHost : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly ServiceProvider _provider;

    public EngineHost(NpgsqlDataSource dataSource, string queue, Action<PostgresQueueOptions>? configureQueue = null)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false);
        services.AddSingleton<TimeProvider>(Time);
        services.AddStateReconciliation(o =>
            {
                o.WarmUp = TimeSpan.Zero;
                o.Interval = Interval;
                o.HealBudget.MaxHeals = 100_000;
                o.HealBudget.Window = TimeSpan.FromSeconds(5);
            })
            .AddPostgresQueue(queue, o =>
            {
                o.DataSource = dataSource;
                configureQueue?.Invoke(o);
            })
            .AddRule("queue-stuck", r =>
            {
                r.Signal = QueueSignalNames.Stuck;
                r.Resource = queue;
                r.Above = 0;
                r.Heal.Add(QueueHealerNames.RequeueStuck);
            })
            // Requeue whenever something is stuck: no cooldown, no cap (the test advances the clock one interval per tick).
            .ConfigureHealer(QueueHealerNames.RequeueStuck, p =>
            {
                p.Cooldown = TimeSpan.FromSeconds(1);
                p.MaxBackoff = TimeSpan.FromSeconds(1);
                p.MaxAttempts = 100_000;
                p.Window = TimeSpan.FromSeconds(5);
            });
        _provider = services.BuildServiceProvider();
        Reconciler = _provider.GetRequiredService<IReconciler>();
    }

    public FakeTimeProvider Time { get; } = new();

    /// <summary>The container (the probe, its connector, the collected logs).</summary>
    public IServiceProvider Services => _provider;

    public IReconciler Reconciler { get; }

    public async Task<ReconciliationReport> TickAsync(CancellationToken cancellationToken)
    {
        var report = await Reconciler.ReconcileOnceAsync(cancellationToken);
        Time.Advance(Interval);
        return report;
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
