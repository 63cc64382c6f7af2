using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Redis;
using Reconciliation.TestServers;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace Reconciliation.Benchmarks.Adapters;

/// <summary>
/// The Redis adapter against its own I/O, on a real throwaway server and ONE multiplexer: the adapter's admin connection
/// is the very multiplexer the bare <c>PING</c> and bare <c>INFO</c> (the baseline) use. Goals: 1 round trip per tick;
/// the reconciler tick ≤ 5 % over the INFO it is built on.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(RoundTrips.Config))]
[BenchmarkCategory(Categories.Servers)]
public class RedisProbeBenchmarks
{
    private RedisServer _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private IServer _redis = null!;
    private ServiceProvider _provider = null!;
    private ReconciliationEngine _engine = null!;
    private IProbe _probe = null!;
    private SignalWriter _writer = null!;
    private ProfilingSession? _session;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await RedisServer.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.Configuration(allowAdmin: true));
        _connection.RegisterProfiler(() => _session);
        _redis = _connection.GetServer(_connection.GetEndPoints()[0]);

        var services = new ServiceCollection();
        EngineFactory.AddHostBasics(services);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddRedis(_connection, o => o.AdminConnectionFactory = _ => Task.FromResult<IConnectionMultiplexer>(_connection))
            .AddRule("clients", r =>
            {
                r.Signal = RedisSignalNames.ClientsUsage;
                r.Above = 0.9;
            });
        EngineFactory.RemoveProcessProbe(services);
        _provider = services.BuildServiceProvider();
        _engine = _provider.Engine();
        _probe = EngineFactory.ProbeNamed(_engine, "RedisProbe");
        _writer = EngineFactory.WriterOf(_engine, _probe);

        await Ping();
        await Info();
        await Probe();
        var report = await Tick();
        if (report.ProbeFailures.Count != 0 || report.ValueOf(RedisSignalNames.ClientsUsage, _probe.Resource) is null)
        {
            throw new InvalidOperationException("The Redis tick did not read the server: "
                + string.Join("; ", report.ProbeFailures.Select(f => f.Reason)));
        }

        RoundTrips.Record(typeof(RedisProbeBenchmarks), nameof(Ping), await CountCommandsAsync(Ping));
        RoundTrips.Record(typeof(RedisProbeBenchmarks), nameof(Info), await CountCommandsAsync(Info));
        RoundTrips.Record(typeof(RedisProbeBenchmarks), nameof(Probe), await CountCommandsAsync(Probe));
        RoundTrips.Record(typeof(RedisProbeBenchmarks), nameof(Tick), await CountCommandsAsync(Tick));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        // The adapter owns (and disposes) the admin connection it was given: the same multiplexer.
        await _provider.DisposeAsync();
        await _connection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Description = "Bare PING")]
    public Task<TimeSpan> Ping() => _redis.PingAsync();

    [Benchmark(Baseline = true, Description = "Bare INFO")]
    public Task<string?> Info() => _redis.InfoRawAsync();

    [Benchmark(Description = "Redis probe (one ProbeAsync)")]
    public async Task Probe()
    {
        _writer.Reset();
        await _probe.ProbeAsync(_writer, CancellationToken.None);
    }

    [Benchmark(Description = "Reconciler tick with AddRedis")]
    public Task<ReconciliationReport> Tick() => _engine.ReconcileOnceAsync();

    private async Task<int> CountCommandsAsync(Func<Task> operation)
    {
        _session = new ProfilingSession();
        await operation();
        var commands = _session.FinishProfiling().Count();
        _session = null;
        return commands;
    }
}
