
namespace Reconciliation.Benchmarks.Support;

/// <summary>
/// A probe of one resource with <c>count</c> signals (<c>bench.s0</c>, <c>bench.s1</c>, ...) that writes the current
/// <see cref="Level.Value"/> to each: no I/O, so a tick measures only the engine. Changing the level between ticks
/// drives rules in and out of breach.
/// </summary>
internal sealed class ConstantProbe : IProbe
{
    private readonly Level _level;

    public ConstantProbe(string resource, int count, Level level)
    {
        Resource = resource;
        _level = level;
        var signals = new SignalDescriptor[count];
        for (var i = 0; i < count; i++)
        {
            signals[i] = new SignalDescriptor(SignalName(i), SignalUnits.Ratio, "benchmark signal");
        }

        Signals = signals;
    }

    public string Resource { get; }

    /// <summary>How the engine calls it: on the thread pool (the default for any probe) or inline, as in-memory probes are.</summary>
    public ProbeExecution Execution { get; init; } = ProbeExecution.ThreadPool;

    public IReadOnlyList<SignalDescriptor> Signals { get; }

    public static string SignalName(int index) => "bench.s" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        var value = _level.Value;
        for (var i = 0; i < Signals.Count; i++)
        {
            writer.Write(i, value);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The value every probe sharing this level reports.</summary>
    internal sealed class Level
    {
        public double Value { get; set; }
    }
}
