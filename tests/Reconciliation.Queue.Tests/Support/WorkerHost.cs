using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Queue.Workers;

namespace Reconciliation.Queue.Tests.Support;

/// <summary>A service provider holding one queue and its workers (as a worker process would), started and stopped by the test.</summary>
internal sealed class WorkerHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _workers;
    private bool _stopped;

    private WorkerHost(ServiceProvider provider, bool rescue)
    {
        _provider = provider;
        _workers = provider.GetServices<IHostedService>().Where(s => s is QueueWorker<WorkItem, ScriptedHandler> || (rescue && s is QueueRescueService)).ToArray();
        Script = provider.GetRequiredService<HandlerScript>();
    }

    public HandlerScript Script { get; }

    public string QueueName { get; private init; } = string.Empty;

    public IReadOnlyList<IHostedService> Workers => _workers;

    public IServiceProvider Services => _provider;

    public static WorkerHost Create(NpgsqlDataSource dataSource, string queue, Action<PostgresQueueOptions>? configureQueue = null,
        Action<QueueWorkerOptions>? configureWorker = null, int workers = 1, TimeProvider? time = null, HandlerScript? script = null, bool fakeLogging = false,
        bool rescue = false)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            if (fakeLogging)
            {
                b.AddFakeLogging();
            }
        });
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddSingleton(script ?? new HandlerScript());
        var builder = services.AddStateReconciliation().AddPostgresQueue(queue, o =>
        {
            o.DataSource = dataSource;
            configureQueue?.Invoke(o);
        });
        for (var i = 0; i < workers; i++)
        {
            builder.AddQueueWorker<ScriptedHandler, WorkItem>(queue, o =>
            {
                o.PollInterval = TimeSpan.FromMilliseconds(50);
                o.ErrorDelay = TimeSpan.FromMilliseconds(200);
                configureWorker?.Invoke(o);
            });
        }

        return new WorkerHost(services.BuildServiceProvider(), rescue) { QueueName = queue };
    }

    public IJobQueue Queue(string name) => _provider.GetRequiredService<IJobQueueFactory>().GetQueue(name);

    public async Task StartAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.StartAsync(CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken shutdown)
    {
        _stopped = true;
        await Task.WhenAll(_workers.Select(w => w.StopAsync(shutdown)));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await StopAsync(cancelled.Token);
        }

        await _provider.DisposeAsync();
    }
}
