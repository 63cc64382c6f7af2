using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reconciliation.Benchmarks.Support;

namespace Reconciliation.Benchmarks.Engine;

/// <summary>
/// One tick in steady state (every reading healthy, no violation changing state) at 10 / 100 / 1,000 rules,
/// beside what a user would use instead, in the same run: Microsoft's <see cref="HealthCheckService"/> with the same
/// number of no-op checks, and a bare loop comparing N doubles with N limits (the floor).
/// Ratios are against <see cref="HotPath"/>: the HealthCheckService row should read ≥ 100, the bare loop ≥ 0.33.
/// </summary>
/// <remarks>
/// Rules compile to runs of consecutive slots here (one rule per signal of the probe), which the evaluator compares
/// four at a time. <see cref="EvaluateScattered"/> shows the other layout: two rules on every signal, so no two
/// instances in a row read consecutive slots and every instance takes the one-at-a-time loop.
/// </remarks>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.Tick)]
public class SteadyStateTickBenchmarks
{
    private ServiceProvider _reconciler = null!;
    private ServiceProvider _healthChecks = null!;
    private ServiceProvider _scattered = null!;
    private RuleEvaluator _scatteredEvaluator = null!;
    private double[] _scatteredStorage = null!;
    private ReconciliationEngine _engine = null!;
    private ServiceProvider _isolatedReconciler = null!;
    private ReconciliationEngine _isolatedEngine = null!;
    private RuleEvaluator _evaluator = null!;
    private SignalWriter _writer = null!;
    private ProbeSlot _slot = null!;
    private double[] _storage = null!;
    private HealthCheckService _healthCheckService = null!;
    private double[] _readings = null!;
    private double[] _limits = null!;
    private DateTimeOffset _now;

    [Params(10, 100, 1000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // One probe writing N signals, one rule per signal: N rule instances over N slots. It reads memory only, so it is
        // declared Inline, as the built-in in-memory probes are (HTTP latency, process, Npgsql pool statistics).
        var probe = new ConstantProbe("bench", Rules, new ConstantProbe.Level { Value = 0.5 }) { Execution = ProbeExecution.Inline };
        _reconciler = EngineFactory.Build([probe], [.. Enumerable.Range(0, Rules).Select(ConstantProbe.SignalName)]);
        _engine = _reconciler.Engine();
        _evaluator = _engine.Evaluator;
        _slot = EngineFactory.SlotOf(_engine, probe);
        _writer = _slot.Writer;
        _storage = _engine.Table.Values;
        _now = TimeProvider.System.GetUtcNow();

        // Half as many signals, two rules on each (Above the limit, Below a floor): the same number of rule instances.
        var half = Rules / 2;
        var halfProbe = new ConstantProbe("bench", half, new ConstantProbe.Level { Value = 0.5 });
        _scattered = EngineFactory.Build([halfProbe], [.. Enumerable.Range(0, half).Select(ConstantProbe.SignalName)], configure: b =>
        {
            for (var i = 0; i < half; i++)
            {
                var signal = ConstantProbe.SignalName(i);
                b.AddRule("floor-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), r => { r.Signal = signal; r.Below = 0.1; });
            }
        });
        var scatteredEngine = _scattered.Engine();
        _scatteredEvaluator = scatteredEngine.Evaluator;
        _scatteredStorage = scatteredEngine.Table.Values;
        if (_scatteredEvaluator.Instances.Length != Rules || scatteredEngine.ReconcileOnceAsync().GetAwaiter().GetResult().Violations.Count != 0)
        {
            throw new InvalidOperationException("The scattered layout does not have N healthy rule instances.");
        }

        // The same probe on the thread pool, as every probe is by default (a user's probe, any probe doing I/O).
        var isolatedProbe = new ConstantProbe("bench", Rules, new ConstantProbe.Level { Value = 0.5 });
        _isolatedReconciler = EngineFactory.Build([isolatedProbe], [.. Enumerable.Range(0, Rules).Select(ConstantProbe.SignalName)]);
        _isolatedEngine = _isolatedReconciler.Engine();
        if (_isolatedEngine.ReconcileOnceAsync().GetAwaiter().GetResult().ValueOf(ConstantProbe.SignalName(Rules - 1), "bench") != 0.5)
        {
            throw new InvalidOperationException("The isolated engine's tick has no reading.");
        }

        var services = new ServiceCollection();
        services.AddLogging();
        var checks = services.AddHealthChecks();
        for (var i = 0; i < Rules; i++)
        {
            checks.AddCheck("check-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), () => HealthCheckResult.Healthy());
        }

        _healthChecks = services.BuildServiceProvider();
        _healthCheckService = _healthChecks.GetRequiredService<HealthCheckService>();

        _readings = new double[Rules];
        _limits = new double[Rules];
        Array.Fill(_readings, 0.5);
        Array.Fill(_limits, EngineFactory.Limit);

        // Guard the premise: every rule compiled to an instance, and a tick is healthy and changes nothing.
        if (_evaluator.Instances.Length != Rules)
        {
            throw new InvalidOperationException($"Expected {Rules} rule instances, got {_evaluator.Instances.Length}.");
        }

        var report = _engine.ReconcileOnceAsync().GetAwaiter().GetResult();
        if (report.Violations.Count != 0 || report.ValueOf(ConstantProbe.SignalName(Rules - 1), "bench") != 0.5)
        {
            throw new InvalidOperationException("The steady-state tick is not steady: a violation opened or a reading is missing.");
        }

        if (HotPath() != 0 || HealthCheckService().GetAwaiter().GetResult().Status != HealthStatus.Healthy || BareLoop() != 0)
        {
            throw new InvalidOperationException("A benchmark body does not do what it claims.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reconciler.Dispose();
        _isolatedReconciler.Dispose();
        _scattered.Dispose();
        _healthChecks.Dispose();
    }

    /// <summary>What the engine does per tick once the probes have run: readings land in the preallocated table, the compiled rules are evaluated.</summary>
    [Benchmark(Baseline = true, Description = "Reconciler hot path (write + evaluate)")]
    public int HotPath()
    {
        var writer = _writer;
        writer.Reset();
        var readings = _readings;
        for (var i = 0; i < readings.Length; i++)
        {
            writer.Write(i, readings[i]);
        }

        _slot.Commit(); // the probe finished in time: its readings enter the table the rules read
        var evaluator = _evaluator;
        evaluator.Evaluate(_storage, _now);
        return evaluator.OpenedCount + evaluator.ClosedCount;
    }

    /// <summary>The evaluation half of the hot path alone (the readings stay in place), to split its cost.</summary>
    [Benchmark(Description = "  of which Evaluate only")]
    public int EvaluateOnly()
    {
        var evaluator = _evaluator;
        evaluator.Evaluate(_storage, _now);
        return evaluator.OpenedCount + evaluator.ClosedCount;
    }

    /// <summary>Evaluate alone over the same number of instances laid out with no run of consecutive slots (two rules per signal).</summary>
    [Benchmark(Description = "  Evaluate only, no runs (2 rules/signal)")]
    public int EvaluateScattered()
    {
        var evaluator = _scatteredEvaluator;
        evaluator.Evaluate(_scatteredStorage, _now);
        return evaluator.OpenedCount + evaluator.ClosedCount;
    }

    /// <summary>The whole public tick: probes run (with timeouts), rules evaluated, report built. The probe is in-memory (Inline).</summary>
    [Benchmark(Description = "Reconciler full tick (ReconcileOnceAsync)")]
    public Task<ReconciliationReport> FullTick() => _engine.ReconcileOnceAsync();

    /// <summary>The same tick with the probe on the thread pool (the default): one hop to a pool thread and back.</summary>
    [Benchmark(Description = "  full tick, probe on the thread pool")]
    public Task<ReconciliationReport> FullTickIsolated() => _isolatedEngine.ReconcileOnceAsync();

    /// <summary>Baseline: what a user would pick instead.</summary>
    [Benchmark(Description = "HealthCheckService.CheckHealthAsync")]
    public Task<HealthReport> HealthCheckService() => _healthCheckService.CheckHealthAsync();

    /// <summary>The floor: N doubles compared with N limits, nothing else.</summary>
    [Benchmark(Description = "Bare loop (N doubles vs N limits)")]
    public int BareLoop()
    {
        var readings = _readings;
        var limits = _limits;
        var breaches = 0;
        for (var i = 0; i < readings.Length; i++)
        {
            if (readings[i] > limits[i])
            {
                breaches++;
            }
        }

        return breaches;
    }
}
