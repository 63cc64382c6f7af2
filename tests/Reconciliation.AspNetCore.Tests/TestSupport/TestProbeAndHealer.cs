namespace Reconciliation.AspNetCore.Tests.TestSupport;

/// <summary>A probe whose one reading the test sets.</summary>
internal sealed class SettableProbe(string resource, string signal) : IProbe
{
    private double _value = double.NaN;

    public string Resource => resource;

    public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(signal, SignalUnits.Ratio, "a value the test sets")];

    public double Value
    {
        get => Volatile.Read(ref _value);
        set => Volatile.Write(ref _value, value);
    }

    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        writer.Write(0, Value);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A healer that counts its runs and, when told, brings the probe's reading back to <paramref name="healedValue"/>.</summary>
internal sealed class CountingHealer(string name, SettableProbe? probe = null, double healedValue = double.NaN) : IHealer
{
    private readonly TaskCompletionSource _firstRun = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _runs;

    public string Name => name;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.Process;

    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Completes when the healer ran for the first time.</summary>
    public Task FirstRun => _firstRun.Task;

    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        _firstRun.TrySetResult();
        if (probe is not null && !double.IsNaN(healedValue))
        {
            probe.Value = healedValue;
        }

        return ValueTask.FromResult(HealOutcome.Healed("counted"));
    }
}
