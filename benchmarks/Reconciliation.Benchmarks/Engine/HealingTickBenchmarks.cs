using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Benchmarks.Support;

namespace Reconciliation.Benchmarks.Engine;

/// <summary>
/// Ticks where every rule's violation opens, is healed (no-op healer) and closes: one invocation is one full cycle
/// of three ticks on a <see cref="FakeTimeProvider"/> clock, so <c>For</c>, verification and cooldowns are deterministic:
/// tick 1 breaches (the <c>For</c> timer starts), tick 2 breaches past <c>For</c> (violations open, heals run),
/// tick 3 reads healthy (violations close, heals verified). The clock then jumps past every policy window so the next
/// cycle starts from the same state, and what is allocated per cycle is the bounded cost of N violations' lifecycle.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.Tick)]
public class HealingTickBenchmarks
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    // Past the heal window, the cooldown and the budget window: each cycle is independent of the last.
    private static readonly TimeSpan Rest = TimeSpan.FromMinutes(11);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private ServiceProvider _provider = null!;
    private ReconciliationEngine _engine = null!;
    private readonly ConstantProbe.Level _level = new() { Value = 0.5 };
    private NoOpHealer _healer = null!;

    [Params(10, 100)]
    public int RuleInstances { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The engine heals one resource at a time, so every rule instance gets its own resource:
        // N probes of one signal each, and one rule on that signal, which applies to all N resources.
        var probes = Enumerable.Range(0, RuleInstances)
            .Select(i => new ConstantProbe("r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, _level))
            .ToArray();
        _healer = new NoOpHealer();
        _provider = EngineFactory.Build(
            probes,
            [ConstantProbe.SignalName(0)],
            _time,
            b =>
            {
                b.AddHealer(_ => _healer);
                b.Services.Configure<ReconciliationOptions>(o => o.HealBudget.MaxHeals = 100_000); // the largest budget allowed: never binds here
            },
            r =>
            {
                r.For = Interval;
                r.Heal.Add(NoOpHealer.HealerName);
            });
        _engine = _provider.Engine();

        // The first tick never heals (warm-up); take it here.
        _engine.ReconcileOnceAsync().GetAwaiter().GetResult();
        _time.Advance(Rest);

        // Guard the premise: one cycle opens, heals and closes every rule's violation.
        var before = _healer.Calls;
        var (opened, closed) = CycleAsync().GetAwaiter().GetResult();
        if (opened.Violations.Count != RuleInstances || opened.Heals.Count != RuleInstances || _healer.Calls - before != RuleInstances
            || closed.Violations.Count != RuleInstances || closed.Violations.Any(v => v.State != ViolationState.Closed))
        {
            throw new InvalidOperationException(
                $"A cycle did not open, heal and close {RuleInstances} violations: opened {opened.Violations.Count}, healed {opened.Heals.Count}, closed {closed.Violations.Count}.");
        }

        // Bounded, not just small: what a cycle allocates now is what it allocates a hundred cycles later, when the heal
        // journal holds over a thousand records. Logged, so the run's output carries the evidence.
        var early = AllocatedPerCycle(cycles: 10);
        for (var i = 0; i < 100; i++)
        {
            CycleAsync().GetAwaiter().GetResult();
        }

        var late = AllocatedPerCycle(cycles: 10);
        Console.WriteLine(
            $"// allocation per cycle at {RuleInstances} rule instances: cycles 2-11 {early:N0} B, cycles 112-121 {late:N0} B ({early / RuleInstances:N0} and {late / RuleInstances:N0} B per violation)");
    }

    private long AllocatedPerCycle(int cycles)
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < cycles; i++)
        {
            CycleAsync().GetAwaiter().GetResult();
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before) / cycles;
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    /// <summary>Three ticks: breach, open + heal, close + verify.</summary>
    [Benchmark(Description = "Cycle: open + heal + close N rule instances (3 ticks)")]
    public async Task<ReconciliationReport> Cycle() => (await CycleAsync()).Closed;

    private async Task<(ReconciliationReport Opened, ReconciliationReport Closed)> CycleAsync()
    {
        _level.Value = 0.95;
        await _engine.ReconcileOnceAsync();
        _time.Advance(Interval);
        var opened = await _engine.ReconcileOnceAsync();
        _time.Advance(Interval);
        _level.Value = 0.5;
        var closed = await _engine.ReconcileOnceAsync();
        _time.Advance(Rest);
        return (opened, closed);
    }
}
