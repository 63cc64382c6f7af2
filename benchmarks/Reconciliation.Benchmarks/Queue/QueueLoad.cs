using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Queue;
using Reconciliation.Queue.Workers;
using Reconciliation.TestServers;

namespace Reconciliation.Benchmarks.Queue;

/// <summary>
/// The queue's load command (<c>queue-load</c>), all cases against one fresh PostgreSQL server in one run:
/// burn-down of N pre-enqueued no-op jobs at 8 workers (the library's worker, a bare-SQL floor, Hangfire.PostgreSql),
/// <c>EnqueueMany</c> of N jobs, and idle pickup latency (enqueue to handler start on an idle queue, default settings).
/// BenchmarkDotNet's invocation model (many short invocations) does not fit a 100,000-job burn-down; this measures each
/// case once per round with a Stopwatch, several rounds, and prints every round.
/// </summary>
internal static class QueueLoad
{
    private const int Workers = 8;
    private const int FloorBatch = 50;

    public static async Task<int> RunAsync(string[] args)
    {
        var jobs = Option(args, "--jobs", 100_000);
        var hangfireJobs = Option(args, "--hangfire-jobs", 3_000);
        var rounds = Option(args, "--rounds", 3);
        var pickups = Option(args, "--pickups", 500);
        await using var server = await PostgresServer.StartAsync();
        Console.WriteLine($"# queue-load: jobs={jobs} hangfire-jobs={hangfireJobs} rounds={rounds} workers={Workers} cores={Environment.ProcessorCount}");
        for (var round = 1; round <= rounds; round++)
        {
            var floor = await FloorAsync(server, jobs, round);
            var ours = await LibraryBurnDownAsync(server, jobs, round, prefetch: null);
            foreach (var prefetch in Options(args, "--prefetch"))
            {
                await LibraryBurnDownAsync(server, jobs, round * 100 + prefetch, prefetch);
            }

            var enqueueMany = await EnqueueManyAsync(server, jobs, round);
            var hangfire = await HangfireAsync(server, hangfireJobs, round);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: floor {floor:0} jobs/s | Reconciliation.Queue {ours:0} jobs/s ({ours / floor:0.00} of floor) | Hangfire.PostgreSql {hangfire:0} jobs/s (ours {ours / hangfire:0.0}x) | EnqueueMany {enqueueMany:0} jobs/s"));
        }

        await IdlePickupAsync(server, pickups);
        return 0;
    }

    /// <summary>8 clients, each: lease 50 with FOR UPDATE SKIP LOCKED, complete them by token in a second statement. No client code.</summary>
    private static async Task<double> FloorAsync(PostgresServer server, int jobs, int round)
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync($"floor_{round}"));
        var queue = await PrepareAsync(dataSource, "floor", jobs);
        _ = queue;
        const string lease = """
            WITH next AS (SELECT id FROM floor WHERE state = 'pending' AND run_at <= now() ORDER BY priority, run_at, id LIMIT 50 FOR UPDATE SKIP LOCKED)
            UPDATE floor j SET state = 'running', lease_token = gen_random_uuid(), leased_until = now() + interval '5 minutes'
            FROM next WHERE j.id = next.id RETURNING j.id, j.lease_token
            """;
        const string complete = """
            UPDATE floor j SET state = 'completed', completed_at = now(), lease_token = NULL
            FROM unnest(@ids, @tokens) AS l(id, token) WHERE j.id = l.id AND j.lease_token = l.token AND j.state = 'running'
            """;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            var ids = new List<long>(FloorBatch);
            var tokens = new List<Guid>(FloorBatch);
            while (true)
            {
                ids.Clear();
                tokens.Clear();
                await using (var command = dataSource.CreateCommand(lease))
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        ids.Add(reader.GetInt64(0));
                        tokens.Add(reader.GetGuid(1));
                    }
                }

                if (ids.Count == 0)
                {
                    return;
                }

                await using var done = dataSource.CreateCommand(complete);
                done.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids.ToArray());
                done.Parameters.AddWithValue("tokens", NpgsqlDbType.Array | NpgsqlDbType.Uuid, tokens.ToArray());
                await done.ExecuteNonQueryAsync();
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(started);
        await CheckCompletedAsync(dataSource, "floor", jobs);
        return Report("floor (bare SQL, batch 50)", jobs, elapsed);
    }

    private static async Task<double> LibraryBurnDownAsync(PostgresServer server, int jobs, int round, int? prefetch)
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync($"ours_{round}"));
        await PrepareAsync(dataSource, "bench", jobs);
        var counter = new RunCounter();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(counter);
        builder.Services.AddStateReconciliation(o => o.Enabled = false)
            .AddPostgresQueue("bench", o => o.DataSource = dataSource)
            .AddQueueWorker<CountingHandler, LoadJob>("bench", o =>
            {
                o.Concurrency = Workers;
                o.Prefetch = prefetch;
            });
        EngineFactory.RemoveProcessProbe(builder.Services);
        using var host = builder.Build();
        var started = Stopwatch.GetTimestamp();
        await host.StartAsync();
        await counter.WaitForAsync(jobs, TimeSpan.FromMinutes(10));
        await WaitCompletedAsync(dataSource, "bench", jobs); // the last completions are flushed after their handlers return
        var elapsed = Stopwatch.GetElapsedTime(started);
        await host.StopAsync();
        await CheckCompletedAsync(dataSource, "bench", jobs);
        return Report($"Reconciliation.Queue (Concurrency {Workers}, Prefetch {prefetch?.ToString(CultureInfo.InvariantCulture) ?? "default"})", jobs, elapsed);
    }

    private static async Task<double> EnqueueManyAsync(PostgresServer server, int jobs, int round)
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync($"many_{round}"));
        var queue = new PostgresJobQueue("many", dataSource, new PostgresQueueOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger<PostgresJobQueue>.Instance);
        await queue.MigrateAsync();
        var payloads = Enumerable.Range(0, jobs).Select(i => new LoadJob(i)).ToArray();
        var started = Stopwatch.GetTimestamp();
        var ids = await queue.EnqueueManyAsync(payloads);
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (ids.Count != jobs)
        {
            throw new InvalidOperationException($"EnqueueMany returned {ids.Count} ids for {jobs} jobs.");
        }

        return Report("EnqueueMany (one call)", jobs, elapsed);
    }

    private static async Task<double> HangfireAsync(PostgresServer server, int jobs, int round)
    {
        var connectionString = await server.CreateDatabaseAsync($"hangfire_{round}");
        var options = new PostgreSqlStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(50), PrepareSchemaIfNecessary = true };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
        var client = new BackgroundJobClient(storage);
        HangfireCounter.Reset();
        for (var i = 0; i < jobs; i++)
        {
            client.Enqueue(() => HangfireCounter.Run(i));
        }

        var started = Stopwatch.GetTimestamp();
        using (var hangfire = new BackgroundJobServer(
                   new BackgroundJobServerOptions { WorkerCount = Workers, SchedulePollingInterval = TimeSpan.FromMilliseconds(50), ServerCheckInterval = TimeSpan.FromMinutes(1) },
                   storage))
        {
            await HangfireCounter.Counter.WaitForAsync(jobs, TimeSpan.FromMinutes(30));
            var elapsed = Stopwatch.GetElapsedTime(started);
            hangfire.SendStop();
            return Report("Hangfire.PostgreSql (WorkerCount 8)", jobs, elapsed);
        }
    }

    /// <summary>Enqueue one job on an idle queue, wait for its handler to start, repeat: default worker settings.</summary>
    private static async Task IdlePickupAsync(PostgresServer server, int samples)
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("pickup"));
        var counter = new RunCounter();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(counter);
        builder.Services.AddStateReconciliation(o => o.Enabled = false)
            .AddPostgresQueue("pickup", o => o.DataSource = dataSource)
            .AddQueueWorker<CountingHandler, LoadJob>("pickup");
        EngineFactory.RemoveProcessProbe(builder.Services);
        using var host = builder.Build();
        var queue = host.Services.GetRequiredService<IJobQueueFactory>().GetQueue("pickup");
        await queue.MigrateAsync();
        await host.StartAsync();
        var histogram = new LongHistogram(1, 60_000_000, 3);
        await queue.EnqueueAsync(new LoadJob(-1)); // warm: the listener is connected once this one ran
        await counter.WaitForAsync(1, TimeSpan.FromSeconds(30));
        for (var i = 0; i < samples; i++)
        {
            await Task.Delay(20); // idle: the worker found nothing and sleeps
            var target = counter.Count + 1;
            var started = Stopwatch.GetTimestamp();
            counter.Arm(started);
            await queue.EnqueueAsync(new LoadJob(i));
            await counter.WaitForAsync(target, TimeSpan.FromSeconds(30));
            histogram.RecordValue(Math.Max(1, (long)counter.LastPickup.TotalMicroseconds));
        }

        await host.StopAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle pickup (enqueue call to handler start, default settings, {samples} jobs): p50 {histogram.GetValueAtPercentile(50) / 1000.0:0.00} ms, p99 {histogram.GetValueAtPercentile(99) / 1000.0:0.00} ms, max {histogram.GetMaxValue() / 1000.0:0.00} ms"));
    }

    private static async Task<PostgresJobQueue> PrepareAsync(NpgsqlDataSource dataSource, string name, int jobs)
    {
        var queue = new PostgresJobQueue(name, dataSource, new PostgresQueueOptions { Notify = false },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<PostgresJobQueue>.Instance);
        await queue.MigrateAsync();
        for (var offset = 0; offset < jobs; offset += 20_000)
        {
            await queue.EnqueueManyAsync(Enumerable.Range(offset, Math.Min(20_000, jobs - offset)).Select(i => new LoadJob(i)));
        }

        await using var vacuum = dataSource.CreateCommand($"VACUUM ANALYZE {name}");
        await vacuum.ExecuteNonQueryAsync();
        return queue;
    }

    private static async Task WaitCompletedAsync(NpgsqlDataSource dataSource, string table, int jobs)
    {
        while (await CountCompletedAsync(dataSource, table) < jobs)
        {
            await Task.Delay(5);
        }
    }

    private static async Task CheckCompletedAsync(NpgsqlDataSource dataSource, string table, int jobs)
    {
        var completed = await CountCompletedAsync(dataSource, table);
        if (completed != jobs)
        {
            throw new InvalidOperationException($"{table}: {completed} of {jobs} jobs completed.");
        }
    }

    private static async Task<long> CountCompletedAsync(NpgsqlDataSource dataSource, string table)
    {
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table} WHERE state = 'completed'");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static double Report(string what, int jobs, TimeSpan elapsed)
    {
        var rate = jobs / elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what}: {jobs} jobs in {elapsed.TotalSeconds:0.000} s = {rate:0} jobs/s"));
        return rate;
    }

    private static IEnumerable<int> Options(string[] args, string name)
    {
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == name)
            {
                yield return int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>The payload.</summary>
    public sealed record LoadJob(int Number);

    /// <summary>Counts handler starts; in pickup mode records enqueue-to-start.</summary>
    public sealed class RunCounter
    {
        private long _count;
        private long _armedAt;

        public long Count => Interlocked.Read(ref _count);

        public TimeSpan LastPickup { get; private set; }

        public void Arm(long timestamp) => Interlocked.Exchange(ref _armedAt, timestamp);

        public void Ran()
        {
            var armed = Interlocked.Exchange(ref _armedAt, 0);
            if (armed != 0)
            {
                LastPickup = Stopwatch.GetElapsedTime(armed);
            }

            Interlocked.Increment(ref _count);
        }

        public async Task WaitForAsync(long target, TimeSpan deadline)
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

    /// <summary>The library's no-op handler.</summary>
    public sealed class CountingHandler(RunCounter counter) : IJobHandler<LoadJob>
    {
        public Task HandleAsync(QueueJob<LoadJob> job, CancellationToken cancellationToken)
        {
            counter.Ran();
            return Task.CompletedTask;
        }
    }

    /// <summary>Hangfire's no-op job (a public static method, as Hangfire requires).</summary>
    public static class HangfireCounter
    {
        public static RunCounter Counter { get; private set; } = new();

        public static void Reset() => Counter = new RunCounter();

        public static void Run(int number)
        {
            _ = number;
            Counter.Ran();
        }
    }
}
