using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Queue;
using Reconciliation.Queue.Workers;
using Reconciliation.TestServers;

namespace Reconciliation.Benchmarks.Queue;

/// <summary>
/// Enqueue and process <see cref="Jobs"/> no-op jobs with 1, 4 and 8 workers, on a real PostgreSQL: the library's queue
/// (one hosted worker with that <see cref="QueueWorkerOptions.Concurrency"/>) beside Hangfire.PostgreSql (a
/// <see cref="BackgroundJobServer"/> with that <c>WorkerCount</c>), each in its own database of the same server, both
/// polling every <see cref="PollInterval"/> when idle. One invocation enqueues every job one by one and waits until all ran:
/// jobs/s = <see cref="Jobs"/> / Mean. Pickup latency (enqueue to handler start) goes into a histogram per case; its p99
/// is a column (in process) and a log line. Goal: ≥ 5× Hangfire's jobs/s at 8 workers.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PickupLatency.Config))]
[BenchmarkCategory(Categories.Servers)]
public class QueueThroughputBenchmarks
{
    /// <summary>Jobs per invocation.</summary>
    public const int Jobs = 200;

    /// <summary>How often an idle worker looks for work, on both sides (Hangfire.PostgreSql's default is 15 s; ours 1 s).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private const string QueueName = "bench";
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromMinutes(2);

    private PostgresServer? _server;
    private NpgsqlDataSource? _dataSource;
    private IHost? _host;
    private IJobQueue? _queue;
    private PostgreSqlStorage? _storage;
    private BackgroundJobServer? _hangfire;
    private BackgroundJobClient? _client;

    [Params(1, 4, 8)]
    public int Workers { get; set; }

    [GlobalSetup(Target = nameof(Reconciliation))]
    public async Task SetupReconciliation()
    {
        _server = await PostgresServer.StartAsync();
        var connectionString = await _server.CreateDatabaseAsync("queue");
        _dataSource = NpgsqlDataSource.Create(connectionString);

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddStateReconciliation(o => o.Enabled = false)
            .AddPostgresQueue(QueueName, o => o.DataSource = _dataSource)
            .AddQueueWorker<NoOpHandler, BenchJob>(QueueName, o =>
            {
                o.Concurrency = Workers;
                o.PollInterval = PollInterval;
            });
        EngineFactory.RemoveProcessProbe(builder.Services);
        _host = builder.Build();
        _queue = _host.Services.GetRequiredService<IJobQueueFactory>().GetQueue(QueueName);
        await _queue.MigrateAsync();
        await _host.StartAsync();
        Completed.Reset();
        await Reconciliation(); // warm and prove that every job runs
    }

    [GlobalSetup(Target = nameof(Hangfire))]
    public async Task SetupHangfire()
    {
        _server = await PostgresServer.StartAsync();
        var connectionString = await _server.CreateDatabaseAsync("hangfire");
        var options = new PostgreSqlStorageOptions
        {
            QueuePollInterval = PollInterval,
            PrepareSchemaIfNecessary = true,
        };
        _storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
        _client = new BackgroundJobClient(_storage);
        _hangfire = new BackgroundJobServer(
            new BackgroundJobServerOptions { WorkerCount = Workers, SchedulePollingInterval = PollInterval, ServerCheckInterval = TimeSpan.FromMinutes(1) },
            _storage);
        Completed.Reset();
        await Hangfire();
    }

    [GlobalCleanup(Target = nameof(Reconciliation))]
    public async Task CleanupReconciliation()
    {
        PickupLatency.Report(nameof(Reconciliation), Workers);
        await _host!.StopAsync();
        _host.Dispose();
        await _dataSource!.DisposeAsync();
        await _server!.DisposeAsync();
    }

    [GlobalCleanup(Target = nameof(Hangfire))]
    public async Task CleanupHangfire()
    {
        PickupLatency.Report(nameof(Hangfire), Workers);
        _hangfire!.SendStop();
        _hangfire.Dispose();
        await _server!.DisposeAsync();
    }

    [Benchmark(Description = "Reconciliation.Queue: enqueue + run N jobs")]
    public async Task Reconciliation()
    {
        var target = Completed.Count + Jobs;
        for (var i = 0; i < Jobs; i++)
        {
            await _queue!.EnqueueAsync(new BenchJob(Stopwatch.GetTimestamp()));
        }

        await Completed.WaitForAsync(target, DrainDeadline);
    }

    [Benchmark(Baseline = true, Description = "Hangfire.PostgreSql: enqueue + run N jobs")]
    public async Task Hangfire()
    {
        var target = Completed.Count + Jobs;
        for (var i = 0; i < Jobs; i++)
        {
            var enqueuedAt = Stopwatch.GetTimestamp();
            _client!.Enqueue(() => HangfireJob.Run(enqueuedAt));
        }

        await Completed.WaitForAsync(target, DrainDeadline);
    }

    /// <summary>The payload: when it was enqueued (Stopwatch ticks), for the pickup latency.</summary>
    public sealed record BenchJob(long EnqueuedAt);

    /// <summary>The library's no-op handler.</summary>
    public sealed class NoOpHandler : IJobHandler<BenchJob>
    {
        public Task HandleAsync(QueueJob<BenchJob> job, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(job);
            Completed.Ran(job.Payload.EnqueuedAt);
            return Task.CompletedTask;
        }
    }

    /// <summary>Hangfire's no-op job (a public static method, as Hangfire requires).</summary>
    public static class HangfireJob
    {
        public static void Run(long enqueuedAt) => Completed.Ran(enqueuedAt);
    }

    /// <summary>Counts finished jobs and records their pickup latency.</summary>
    internal static class Completed
    {
        private static long _count;

        public static long Count => Interlocked.Read(ref _count);

        public static void Reset()
        {
            Interlocked.Exchange(ref _count, 0);
            PickupLatency.Reset();
        }

        public static void Ran(long enqueuedAt)
        {
            PickupLatency.Record(Stopwatch.GetElapsedTime(enqueuedAt));
            Interlocked.Increment(ref _count);
        }

        /// <summary>Waits (polling, bounded) until <paramref name="target"/> jobs have run.</summary>
        public static async Task WaitForAsync(long target, TimeSpan deadline)
        {
            var started = Stopwatch.GetTimestamp();
            while (Count < target)
            {
                if (Stopwatch.GetElapsedTime(started) > deadline)
                {
                    throw new TimeoutException($"Only {Count} of {target} jobs ran within {deadline}.");
                }

                await Task.Delay(1);
            }
        }
    }
}
