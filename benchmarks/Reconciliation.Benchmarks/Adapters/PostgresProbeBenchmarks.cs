using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Benchmarks.Support;
using Reconciliation.Postgres;
using Reconciliation.TestServers;

namespace Reconciliation.Benchmarks.Adapters;

/// <summary>
/// The PostgreSQL adapter against its own I/O, on a real throwaway server: one server-probe tick beside a bare
/// <c>SELECT 1</c> and a bare <c>SELECT count(*) FROM pg_stat_activity</c> (the baseline), each opening a connection from
/// a one-connection pool with the probe's settings, so every row reuses one physical connection; and the same scan on a
/// connection held open, as the probe now holds its session (no pool open per call).
/// Goals: 1 round trip per tick; probe ≤ 1.5× the pg_stat_activity scan; the whole reconciler tick (every Postgres probe,
/// rule evaluation, report) ≤ 5 % over the probe's own I/O.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(RoundTrips.Config))]
[BenchmarkCategory(Categories.Servers)]
public class PostgresProbeBenchmarks
{
    private const string NpgsqlActivitySource = "Npgsql";

    private PostgresServer _server = null!;
    private NpgsqlDataSource _app = null!;
    private NpgsqlDataSource _bare = null!;
    private NpgsqlConnection _held = null!;
    private ServiceProvider _provider = null!;
    private ReconciliationEngine _engine = null!;
    private IProbe _probe = null!;
    private SignalWriter _writer = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await PostgresServer.StartAsync();
        _app = NpgsqlDataSource.Create(_server.ConnectionStringFor("postgres", pooling: true, applicationName: "bench-app"));

        // The probe's own pool: one connection, kept between ticks (PostgresProbeConnector's settings).
        var bare = new NpgsqlConnectionStringBuilder(_server.ConnectionStringFor("postgres", pooling: true, applicationName: PostgresReconciliationOptions.DefaultProbeApplicationName))
        {
            MinPoolSize = 0,
            MaxPoolSize = 1,
            Multiplexing = false,
            Enlist = false,
        };
        _bare = NpgsqlDataSource.Create(bare.ConnectionString);
        _held = new NpgsqlConnection(_server.ConnectionStringFor("postgres", pooling: false, applicationName: PostgresReconciliationOptions.DefaultProbeApplicationName));
        await _held.OpenAsync();

        var services = new ServiceCollection();
        EngineFactory.AddHostBasics(services);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgres(_app)
            .AddRule("connections", r =>
            {
                r.Signal = PostgresSignalNames.ConnectionsUsage;
                r.Above = 0.9;
            });
        EngineFactory.RemoveProcessProbe(services);
        _provider = services.BuildServiceProvider();
        _engine = _provider.Engine();
        _probe = EngineFactory.ProbeNamed(_engine, "PostgresServerProbe");
        _writer = EngineFactory.WriterOf(_engine, _probe);

        // Warm every pool, then check the premise: the probe reads, the tick reports the reading, nothing fails.
        await SelectOne();
        await PgStatActivity();
        await PgStatActivityHeld();
        await ServerProbe();
        var report = await Tick();
        if (report.ProbeFailures.Count != 0 || report.ValueOf(PostgresSignalNames.ConnectionsUsage, _probe.Resource) is null)
        {
            throw new InvalidOperationException("The Postgres tick did not read the server: "
                + string.Join("; ", report.ProbeFailures.Select(f => f.Reason)));
        }

        RoundTrips.Record(typeof(PostgresProbeBenchmarks), nameof(SelectOne), await CountCommandsAsync(SelectOne));
        RoundTrips.Record(typeof(PostgresProbeBenchmarks), nameof(PgStatActivity), await CountCommandsAsync(PgStatActivity));
        RoundTrips.Record(typeof(PostgresProbeBenchmarks), nameof(PgStatActivityHeld), await CountCommandsAsync(PgStatActivityHeld));
        RoundTrips.Record(typeof(PostgresProbeBenchmarks), nameof(ServerProbe), await CountCommandsAsync(ServerProbe));
        RoundTrips.Record(typeof(PostgresProbeBenchmarks), nameof(Tick), await CountCommandsAsync(Tick));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _provider.DisposeAsync();
        await _held.DisposeAsync();
        await _app.DisposeAsync();
        await _bare.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Description = "Bare SELECT 1")]
    public async Task<object?> SelectOne()
    {
        await using var connection = await _bare.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync();
    }

    [Benchmark(Baseline = true, Description = "Bare SELECT count(*) FROM pg_stat_activity")]
    public async Task<object?> PgStatActivity()
    {
        await using var connection = await _bare.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity", connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The same scan on one connection held open (the probe holds its session too), so no pool open per call.</summary>
    [Benchmark(Description = "Bare pg_stat_activity scan on a held connection")]
    public async Task<object?> PgStatActivityHeld()
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity", _held);
        return await command.ExecuteScalarAsync();
    }

    [Benchmark(Description = "Postgres server probe (one ProbeAsync)")]
    public async Task ServerProbe()
    {
        _writer.Reset();
        await _probe.ProbeAsync(_writer, CancellationToken.None);
    }

    [Benchmark(Description = "Reconciler tick with AddPostgres (all its probes)")]
    public Task<ReconciliationReport> Tick() => _engine.ReconcileOnceAsync();

    /// <summary>Commands Npgsql executed during one run of <paramref name="operation"/> (a batch is one command, one round trip).</summary>
    private static async Task<int> CountCommandsAsync(Func<Task> operation)
    {
        var count = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == NpgsqlActivitySource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ => Interlocked.Increment(ref count),
        };
        ActivitySource.AddActivityListener(listener);
        await operation();
        return Volatile.Read(ref count);
    }
}
