using Microsoft.Extensions.Time.Testing;
using Reconciliation.BuiltIn;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.BuiltIn;

public sealed class ProcessProbeTests
{
    [Fact]
    public async Task The_process_probe_is_registered_by_default_and_writes_plausible_values()
    {
        await using var harness = EngineHarness.Create(null, _ => { });
        var report = await harness.TickAsync();

        Assert.InRange(report.ValueOf(SignalNames.ProcessWorkingSet, ProcessProbe.ResourceName)!.Value, 1024 * 1024, 1L << 40);
        Assert.InRange(report.ValueOf(SignalNames.ProcessGcHeapSize, ProcessProbe.ResourceName)!.Value, 1, 1L << 40);
        Assert.InRange(report.ValueOf(SignalNames.ProcessThreadPoolQueueLength, ProcessProbe.ResourceName)!.Value, 0, 1_000_000);
        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, ProcessProbe.ResourceName));
        Assert.Empty(report.ProbeFailures);
    }

    [Fact]
    public async Task The_exception_rate_counts_exceptions_thrown_since_the_previous_reading_per_second_of_the_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var probe = new ProcessProbe(time);
        var storage = await ReadAsync(probe);
        var first = storage[3];

        for (var i = 0; i < 20; i++)
        {
            try
            {
                throw new InvalidOperationException("counted");
            }
            catch (InvalidOperationException)
            {
            }
        }

        time.Advance(TimeSpan.FromSeconds(10));
        storage = await ReadAsync(probe);

        Assert.True(double.IsNaN(first) || first >= 0);
        Assert.True(storage[3] >= 2.0, $"rate {storage[3]} should be at least 20 exceptions / 10 s"); // other tests may add more
        Assert.All(storage.Take(3), v => Assert.True(v >= 0));
    }

    private static async Task<double[]> ReadAsync(ProcessProbe probe)
    {
        var writer = new SignalWriter(probe.Signals);
        await probe.ProbeAsync(writer, TestContext.Current.CancellationToken);
        var values = new double[probe.Signals.Count];
        writer.CopyTo(values);
        return values;
    }
}
