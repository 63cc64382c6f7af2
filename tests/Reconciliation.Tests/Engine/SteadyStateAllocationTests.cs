using System.Globalization;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>
/// CI guard for the steady-state tick: the hot path (readings written through <see cref="SignalWriter"/> into
/// preallocated storage, then <see cref="RuleEvaluator.Evaluate"/> over 100 compiled rules, with no violation changing
/// state) must allocate exactly 0 bytes. If this fails, something on the hot path started allocating (LINQ, boxing,
/// a closure, a per-tick collection).
/// </summary>
public sealed class SteadyStateAllocationTests
{
    private const int Probes = 10;
    private const int SignalsPerProbe = 10;
    private const int Iterations = 1_000;

    [Fact]
    public async Task SteadyStateTick_HotPath_WriteAndEvaluate_100_rules_allocates_zero_bytes_CI_guard()
    {
        var probes = Enumerable.Range(0, Probes)
            .Select(p => new TestProbe("res-" + p.ToString(CultureInfo.InvariantCulture),
                [.. Enumerable.Range(0, SignalsPerProbe).Select(s => "sig." + s.ToString(CultureInfo.InvariantCulture))]))
            .ToArray();
        await using var harness = EngineHarness.Create(null, b =>
        {
            foreach (var probe in probes)
            {
                b.AddProbe(_ => probe);
            }

            // 10 rules per signal name without Resource = 100 rule instances (one per resource), half of them breaching.
            for (var s = 0; s < SignalsPerProbe; s++)
            {
                var signal = "sig." + s.ToString(CultureInfo.InvariantCulture);
                b.AddRule("rule-" + s.ToString(CultureInfo.InvariantCulture), r => { r.Signal = signal; r.Above = 0.8; r.Clear = 0.6; });
            }
        });
        var readings = new double[Probes][];
        for (var p = 0; p < Probes; p++)
        {
            readings[p] = new double[SignalsPerProbe];
            for (var s = 0; s < SignalsPerProbe; s++)
            {
                readings[p][s] = (p + s) % 2 == 0 ? 0.9 : 0.3; // breaching ones stay open (above Clear), healthy ones stay healthy
            }

            for (var s = 0; s < SignalsPerProbe; s++)
            {
                probes[p].Set("sig." + s.ToString(CultureInfo.InvariantCulture), readings[p][s]);
            }
        }

        // Warm up through the real engine: violations open on the first tick, then nothing changes state.
        var first = await harness.TickAsync();
        Assert.Equal(Probes * SignalsPerProbe / 2, first.Violations.Count);
        var steady = await harness.NextTickAsync();
        Assert.Equal(Probes * SignalsPerProbe / 2, steady.Violations.Count(v => v.State == ViolationState.Open));

        var engine = harness.Engine;
        var evaluator = engine.Evaluator;
        Assert.Equal(Probes * SignalsPerProbe, evaluator.Instances.Length);
        var slots = engine.Table.Probes.Where(s => s.Probe is TestProbe).ToArray();
        var values = engine.Table.Values;
        var now = harness.Time.GetUtcNow();

        HotPath(slots, readings, evaluator, values, now, Iterations); // JIT and tiering warm-up, outside the measurement
        var before = GC.GetAllocatedBytesForCurrentThread();
        var changes = HotPath(slots, readings, evaluator, values, now, Iterations);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, changes); // the premise: no violation changed state
        Assert.Equal(0, allocated);
    }

    private static int HotPath(ProbeSlot[] slots, double[][] readings, RuleEvaluator evaluator, double[] values, DateTimeOffset now, int iterations)
    {
        var changes = 0;
        for (var i = 0; i < iterations; i++)
        {
            for (var p = 0; p < slots.Length; p++)
            {
                var slot = slots[p];
                var writer = slot.Writer;
                writer.Reset();
                var row = readings[p];
                for (var s = 0; s < row.Length; s++)
                {
                    writer.Write(s, row[s]);
                }

                slot.Commit();
            }

            evaluator.Evaluate(values, now.AddSeconds(i));
            changes += evaluator.OpenedCount + evaluator.ClosedCount;
        }

        return changes;
    }
}
