using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Status;
using Reconciliation.Tests.TestSupport;
using Xunit;

namespace Reconciliation.Tests.Status;

/// <summary>The status page's last hour per signal and its timeline of violations, kept by the engine (fake clock).</summary>
public sealed class SignalHistoryTests
{
    [Fact]
    public async Task Each_30_second_bucket_keeps_its_lowest_and_highest_reading_so_a_spike_between_samples_is_not_lost()
    {
        var probe = new TestProbe("db", "pool.usage");
        await using var harness = Harness(probe);
        harness.Time.SetUtcNow(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)); // a bucket boundary

        // Three ticks 10 s apart fall in one 30 s bucket: 0.4, a 0.95 spike, 0.5.
        foreach (var value in new[] { 0.4, 0.95, 0.5 })
        {
            probe.Set(value);
            await harness.TickAsync();
            harness.Time.Advance(TimeSpan.FromSeconds(10));
        }

        probe.Set(0.3); // the next bucket
        await harness.TickAsync();

        var history = await HistoryAsync(harness, "pool.usage");
        Assert.Equal(SignalHistory.Capacity, history.Max.Count);
        Assert.Equal(30, history.StepSeconds);
        Assert.Equal((0.4, 0.95), (history.Min[^2], history.Max[^2]));
        Assert.Equal((0.3, 0.3), (history.Min[^1], history.Max[^1]));
        Assert.Null(history.Max[^3]); // before the first tick: no reading
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 12, 0, 30, TimeSpan.Zero) - TimeSpan.FromSeconds(30 * (SignalHistory.Capacity - 1)), history.Start);
    }

    [Fact]
    public async Task Many_signals_each_keep_their_own_lowest_and_highest_reading_and_a_missing_reading_changes_nothing()
    {
        // Nine signals: the rings are updated several signals at a time, with a tail; each must still be its own.
        var names = Enumerable.Range(0, 9).Select(i => "s" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var probe = new TestProbe("db", names);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));
        harness.Time.SetUtcNow(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)); // a bucket boundary
        var random = new Random(13);
        var expectedMin = new double?[names.Length];
        var expectedMax = new double?[names.Length];
        for (var tick = 0; tick < 3; tick++) // three ticks 10 s apart: one bucket
        {
            for (var i = 0; i < names.Length; i++)
            {
                // Signal 4 never has a reading; the others miss one now and then.
                var value = i == 4 || random.Next(4) == 0 ? double.NaN : Math.Round(random.NextDouble() * 2 - 1, 2);
                probe.Set(names[i], value);
                if (!double.IsNaN(value))
                {
                    expectedMin[i] = Math.Min(expectedMin[i] ?? value, value);
                    expectedMax[i] = Math.Max(expectedMax[i] ?? value, value);
                }
            }

            await harness.TickAsync();
            harness.Time.Advance(TimeSpan.FromSeconds(10));
        }

        for (var i = 0; i < names.Length; i++)
        {
            var history = await HistoryAsync(harness, names[i]);
            Assert.Equal((expectedMin[i], expectedMax[i]), (history.Min[^1], history.Max[^1]));
        }

        Assert.Contains(expectedMin, m => m is not null && m < 0); // the premise: readings of both signs, and gaps
        Assert.Null(expectedMax[4]);
    }

    [Fact]
    public async Task The_ring_holds_the_last_hour_and_a_gap_without_ticks_stays_empty()
    {
        var probe = new TestProbe("db", "pool.usage");
        await using var harness = Harness(probe);
        harness.Time.SetUtcNow(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        probe.Set(0.9);
        await harness.TickAsync();

        harness.Time.Advance(TimeSpan.FromMinutes(59.5)); // the last bucket of the hour
        probe.Set(0.2);
        await harness.TickAsync();
        var history = await HistoryAsync(harness, "pool.usage");
        Assert.Equal(0.9, history.Max[0]);
        Assert.Equal(0.2, history.Max[^1]);
        Assert.All(history.Max.Skip(1).SkipLast(1), Assert.Null); // nothing ticked between: the buckets stay empty

        harness.Time.Advance(TimeSpan.FromSeconds(30)); // one bucket on: the first reading falls out of the hour
        await harness.TickAsync();
        history = await HistoryAsync(harness, "pool.usage");
        Assert.DoesNotContain(0.9, history.Max);
        Assert.Equal([0.2, 0.2], history.Max.Where(v => v is not null).ToArray());
    }

    [Fact]
    public async Task The_timeline_records_each_violation_opening_and_closing_at_its_tick_time_with_the_reading()
    {
        var probe = new TestProbe("db", "pool.usage");
        await using var harness = Harness(probe);
        var opened = harness.Time.GetUtcNow();
        probe.Set(0.95);
        await harness.TickAsync();
        probe.Set(0.5);
        var closed = (await harness.NextTickAsync()).Timestamp;

        var status = await harness.Provider.GetRequiredService<ReconciliationStatusProvider>().GetAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(
            [new TimelineEntry(opened, "opened", "saturation", "db", 0.95), new TimelineEntry(closed, "closed", "saturation", "db", 0.5)],
            status.Timeline);
    }

    [Fact]
    public async Task Recording_a_tick_allocates_nothing_once_the_rings_are_sized()
    {
        var probe = new TestProbe("db", "pool.usage", "pool.pending");
        await using var harness = Harness(probe);
        probe.Set(0.5);
        await harness.TickAsync(); // sizes the rings
        var engine = harness.Engine;
        var now = harness.Time.GetUtcNow();
        for (var i = 0; i < 1_000; i++)
        {
            engine.History.Record(engine.Table, engine.Evaluator, now += TimeSpan.FromSeconds(7)); // JIT and tiering warm-up
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            engine.History.Record(engine.Table, engine.Evaluator, now += TimeSpan.FromSeconds(7));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0.5, (await HistoryAsync(harness, "pool.usage")).Max[^1]); // the measured calls did record
    }

    private static EngineHarness Harness(TestProbe probe) =>
        EngineHarness.Create(null, b => b.AddProbe(_ => probe).AddRule("saturation", r =>
        {
            r.Signal = "pool.usage";
            r.Above = 0.9;
            r.Clear = 0.7;
        }));

    private static async Task<SignalHistoryStatus> HistoryAsync(EngineHarness harness, string signal)
    {
        var status = await harness.Provider.GetRequiredService<ReconciliationStatusProvider>().GetAsync(cancellationToken: TestContext.Current.CancellationToken);
        return Assert.Single(status.Signals, s => s.Signal == signal).History!;
    }
}
