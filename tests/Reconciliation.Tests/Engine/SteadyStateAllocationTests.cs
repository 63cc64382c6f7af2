using System.Globalization;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>
/// CI guard for the steady-state hot path: the tick's readings committed and its rules evaluated, on the real engine's
/// own objects and through the methods its tick calls — each registered probe run on its slot
/// (<see cref="ProbeSlot.Start"/>, the real probe writing through its <see cref="SignalWriter"/>),
/// <see cref="ProbeSlot.Commit"/> into the engine's <see cref="SignalTable"/>, then <see cref="RuleEvaluator.Evaluate"/>
/// of the engine's live evaluator — must allocate exactly 0 bytes while no violation changes state.
/// </summary>
/// <remarks>
/// The rest of a tick (timeout token sources, the probe tasks, the report) allocates by design and has its own budget;
/// it is not measured here. The steady state is not only "all healthy": it holds open violations in both directions,
/// breaches being timed toward <c>For</c>, missing readings, and two rules on one signal, so every branch of the
/// evaluation that a steady tick can take runs inside the measurement. The last test proves the measurement sees an
/// allocation on this path when there is one.
/// </remarks>
public sealed class SteadyStateAllocationTests
{
    private const int SignalsPerProbe = 10;
    private const int Iterations = 1_000;
    private static readonly TimeSpan TimedFor = TimeSpan.FromDays(1); // the most For allows; the measured loops cover 20,000 s of it

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(100)]
    public async Task Hot_path_commit_and_evaluate_allocates_zero_bytes_in_steady_state_CI_guard(int probeCount)
    {
        var probes = NewProbes(probeCount);
        await using var harness = CreateHarness(probes);
        var engine = harness.Engine;
        var start = harness.Time.GetUtcNow();

        // Warm up through the real engine: violations open on the first tick, the timed breach starts, then nothing
        // changes state.
        var first = await harness.TickAsync();
        Assert.Equal(2 * probeCount, first.Violations.Count);
        var steady = await harness.NextTickAsync();
        Assert.Equal(2 * probeCount, steady.Violations.Count(v => v.State == ViolationState.Open));

        var evaluator = engine.Evaluator;
        Assert.Equal(RulesPerProbe * probeCount, evaluator.Instances.Length);
        var slots = engine.Table.Probes.Where(s => s.Probe is SteadyProbe).ToArray();
        Assert.Equal(probeCount, slots.Length);

        // Outside the measurement: JIT and tiering warm-up.
        var next = harness.Time.GetUtcNow();
        var changes = HotPath(slots, engine, ref next, Iterations);
        var before = GC.GetAllocatedBytesForCurrentThread();
        changes += HotPath(slots, engine, ref next, Iterations);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, changes); // the premise: no violation changed state
        Assert.Equal(0, allocated);

        // The premise, checked on the engine's own state: the timed breaches kept accumulating through every measured
        // evaluation (first breach at the first tick), and the open violations saw the measured readings.
        var last = next - EngineHarness.Interval;
        foreach (var instance in evaluator.Instances.Where(i => i.Rule.Name == "timed"))
        {
            Assert.True(instance.Breaching);
            Assert.Equal(last - start, instance.Accumulated);
            Assert.Null(instance.Violation);
        }

        Assert.All(evaluator.Instances.Where(i => i.Violation is not null), i => Assert.Equal(i.Rule.Name == "high" ? 0.9 : 0.1, i.Violation!.Observed));

        // And the engine's next real tick reads the table the measured commits wrote, and agrees: same open violations.
        var after = await harness.NextTickAsync();
        Assert.Equal(2 * probeCount, after.Violations.Count(v => v.State == ViolationState.Open));
        Assert.Equal(0.9, after.ValueOf("sig.0", "res-0"));
        Assert.Null(after.ValueOf("sig.1", "res-0"));
    }

    [Fact]
    public async Task The_measurement_sees_an_allocation_on_the_measured_path()
    {
        // The same measurement with one probe that allocates 1 KB per run: the guard above would fail for it.
        var probes = NewProbes(10);
        var allocating = new AllocatingProbe("res-alloc");
        await using var harness = CreateHarness([.. probes, allocating]);
        await harness.TickAsync();
        var engine = harness.Engine;
        var slots = engine.Table.Probes.Where(s => s.Probe is SteadyProbe or AllocatingProbe).ToArray();

        var next = harness.Time.GetUtcNow();
        HotPath(slots, engine, ref next, Iterations);
        var before = GC.GetAllocatedBytesForCurrentThread();
        HotPath(slots, engine, ref next, Iterations);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.InRange(allocated, Iterations * AllocatingProbe.Bytes, Iterations * (AllocatingProbe.Bytes + 64L));
        Assert.Equal(1 + (2 * Iterations), allocating.Calls); // the tick, then the two loops
    }

    private const int RulesPerProbe = 11;

    /// <summary>
    /// What the engine's tick does once per interval, minus the timeout and task plumbing around each probe: every
    /// probe runs on its own slot (synchronously here) and its readings are committed; then the live rules are
    /// evaluated. Returns the number of violations that would have opened or closed.
    /// </summary>
    private static int HotPath(ProbeSlot[] slots, ReconciliationEngine engine, ref DateTimeOffset now, int iterations)
    {
        var evaluator = engine.Evaluator;
        var values = engine.Table.Values;
        var changes = 0;
        for (var i = 0; i < iterations; i++)
        {
            foreach (var slot in slots)
            {
                var run = slot.Start(scope: null, CancellationToken.None);
                if (!run.IsCompletedSuccessfully)
                {
                    throw new InvalidOperationException("The test probes answer synchronously.");
                }

                slot.Commit();
            }

            evaluator.Evaluate(values, now);
            changes += evaluator.OpenedCount + evaluator.ClosedCount;
            now += EngineHarness.Interval;
        }

        return changes;
    }

    private static List<IProbe> NewProbes(int count)
    {
        var probes = new List<IProbe>();
        for (var p = 0; p < count; p++)
        {
            probes.Add(new SteadyProbe("res-" + p.ToString(CultureInfo.InvariantCulture),
            [
                0.9,        // sig.0 "high": open, stays open (above Clear)
                double.NaN, // sig.1 "missing": no reading, ever
                0.9,        // sig.2 "timed": breaching, timed toward a For it never reaches
                0.5,        // sig.3 "low": healthy (not below)
                0.1,        // sig.4 "low-open": open, stays open (below Clear)
                0.3, 0.3, 0.3, 0.3, 0.3, // sig.5..9 healthy; sig.5 has two rules
            ]));
        }

        return probes;
    }

    private static EngineHarness CreateHarness(IReadOnlyList<IProbe> probes) =>
        EngineHarness.Create(null, b =>
        {
            foreach (var probe in probes)
            {
                b.AddProbe(_ => probe);
            }

            // No Resource: each rule applies to every probe's signal, RulesPerProbe instances per probe.
            b.AddRule("high", r => { r.Signal = "sig.0"; r.Above = 0.8; r.Clear = 0.6; });
            b.AddRule("missing", r => { r.Signal = "sig.1"; r.Above = 0.8; });
            b.AddRule("timed", r => { r.Signal = "sig.2"; r.Above = 0.8; r.For = TimedFor; });
            b.AddRule("low", r => { r.Signal = "sig.3"; r.Below = 0.2; r.Clear = 0.4; });
            b.AddRule("low-open", r => { r.Signal = "sig.4"; r.Below = 0.2; r.Clear = 0.4; });
            for (var s = 5; s < SignalsPerProbe; s++)
            {
                var signal = "sig." + s.ToString(CultureInfo.InvariantCulture);
                b.AddRule("calm-" + s.ToString(CultureInfo.InvariantCulture), r => { r.Signal = signal; r.Above = 0.8; });
            }

            b.AddRule("calm-5-floor", r => { r.Signal = "sig.5"; r.Below = 0.1; }); // a second rule on one signal
        });

    /// <summary>
    /// Writes fixed readings through the writer's index API (NaN: <see cref="SignalWriter.NoReading(int)"/>) and
    /// allocates nothing itself. (The shared test probe cannot stand in here: its gated path's closure captures the
    /// writer, so C# allocates it on every call, gate or not — 32 B per run, which this test measured.)
    /// </summary>
    private sealed class SteadyProbe : IProbe
    {
        private readonly double[] _values;

        public SteadyProbe(string resource, double[] values)
        {
            Resource = resource;
            _values = values;
            Signals = [.. values.Select((_, s) => new SignalDescriptor("sig." + s.ToString(CultureInfo.InvariantCulture), SignalUnits.Ratio, "test"))];
        }

        public string Resource { get; }

        public IReadOnlyList<SignalDescriptor> Signals { get; }

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            for (var s = 0; s < _values.Length; s++)
            {
                if (double.IsNaN(_values[s]))
                {
                    writer.NoReading(s);
                }
                else
                {
                    writer.Write(s, _values[s]);
                }
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Writes one reading and allocates <see cref="Bytes"/> on every run.</summary>
    private sealed class AllocatingProbe(string resource) : IProbe
    {
        public const int Bytes = 1024;

        public string Resource { get; } = resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new("alloc.value", SignalUnits.Ratio, "test")];

        public int Calls { get; private set; }

        public byte[]? Last { get; private set; }

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            Calls++;
            Last = new byte[Bytes - 24]; // array header (16 B) + length padding: 1,024 B on the heap on 64-bit
            writer.Write(0, 0.5);
            return ValueTask.CompletedTask;
        }
    }
}
