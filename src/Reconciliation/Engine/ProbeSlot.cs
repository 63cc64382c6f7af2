
namespace Reconciliation;

/// <summary>One registered probe with its range in the <see cref="SignalTable"/> and its run state.</summary>
internal sealed class ProbeSlot
{
    private readonly double[] _values;

    public ProbeSlot(IProbe probe, int offset, int count, int failedSlot, double[] values)
    {
        Probe = probe;
        Offset = offset;
        Count = count;
        FailedSlot = failedSlot;
        _values = values;
        TypeName = probe.GetType().Name;
        Writer = new SignalWriter(probe.Signals);
    }

    public IProbe Probe { get; }

    public string TypeName { get; }

    public int Offset { get; }

    public int Count { get; }

    public int FailedSlot { get; }

    public SignalWriter Writer { get; private set; }

    public bool WasFailing { get; set; }

    /// <summary>After a timeout: the old writer is abandoned (its buffer is never copied again), so a late write cannot reach a later tick.</summary>
    public void AbandonWriter() => Writer = new SignalWriter(Probe.Signals);

    /// <summary>
    /// Runs the probe on this tick's writer, reset to "no reading" first and given the tick's DI scope. A probe that
    /// throws before returning its task gives a faulted task instead, so the caller handles every failure in one place.
    /// </summary>
    public ValueTask Start(TickScope? scope, CancellationToken cancellationToken)
    {
        var writer = Writer;
        writer.Reset();
        writer.Scope = scope;
        try
        {
            return Probe.ProbeAsync(writer, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>The probe finished in time: its readings become the tick's values.</summary>
    public void Commit() => Writer.CopyTo(_values.AsSpan(Offset, Count));

    /// <summary>The probe failed or is still running: no reading for any of its signals this tick.</summary>
    public void ClearValues() => _values.AsSpan(Offset, Count).Fill(double.NaN);
}
