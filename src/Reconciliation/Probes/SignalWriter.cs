
namespace Reconciliation;

/// <summary>
/// Where a probe writes its readings for one tick, into preallocated storage. Writing allocates nothing. The engine
/// takes the readings only when the probe finished within its timeout, and a writer is closed when its probe times
/// out, so a probe that wakes up late can never overwrite this tick's readings or a later tick's.
/// </summary>
public sealed class SignalWriter
{
    private readonly double[] _staged;
    private readonly IReadOnlyList<SignalDescriptor> _signals;

    // The probe writes into the writer's own buffer; the engine copies it into the signal table only when the probe
    // finished in time. So a probe that times out (or wakes up after its timeout) never touches the table at all.
    internal SignalWriter(IReadOnlyList<SignalDescriptor> signals)
    {
        _signals = signals;
        _staged = new double[signals.Count];
        Array.Fill(_staged, double.NaN);
    }

    /// <summary>
    /// The services of this tick's own DI scope (created on first use, disposed when the tick ends): a probe built on a
    /// scoped service, such as a <c>DbContext</c>, resolves it here.
    /// </summary>
    /// <exception cref="InvalidOperationException">The writer is not running inside the engine's tick.</exception>
    public IServiceProvider Services => Scope?.Services ?? throw new InvalidOperationException("This writer is not part of a reconciliation tick, so it has no DI scope.");

    internal TickScope? Scope { get; set; }

    /// <summary>Writes the reading of the signal at <paramref name="index"/> in the probe's <see cref="IProbe.Signals"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not one of the probe's signals.</exception>
    public void Write(int index, double value)
    {
        // One unsigned compare against the buffer (not an interface call per write): this runs once per signal per tick.
        var staged = _staged;
        if ((uint)index >= (uint)staged.Length)
        {
            ThrowIndexOutOfRange(index, staged.Length);
        }

        // NaN is the engine's "no reading"; a probe that computes NaN (0/0) has no reading either. A probe that outlived
        // its timeout writes into a buffer the engine has abandoned (ProbeSlot.AbandonWriter) and never copies again.
        staged[index] = double.IsInfinity(value) ? double.NaN : value;
    }

    /// <summary>Writes the reading of the signal named <paramref name="signal"/>.</summary>
    /// <exception cref="ArgumentException">The probe did not declare that signal.</exception>
    public void Write(string signal, double value) => Write(IndexOf(signal), value);

    /// <summary>Marks the signal at <paramref name="index"/> as having no reading this tick (the default).</summary>
    public void NoReading(int index) => Write(index, double.NaN);

    /// <summary>Marks the signal named <paramref name="signal"/> as having no reading this tick (the default).</summary>
    public void NoReading(string signal) => Write(IndexOf(signal), double.NaN);

    /// <summary>The value written so far this tick for the signal at <paramref name="index"/>, or <see langword="null"/>.</summary>
    public double? Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _signals.Count);
        var value = _staged[index];
        return double.IsNaN(value) ? null : value;
    }

    internal void Reset() => _staged.AsSpan().Fill(double.NaN);

    /// <summary>Copies this tick's readings into <paramref name="destination"/> (the probe's range of the signal table).</summary>
    internal void CopyTo(Span<double> destination) => _staged.AsSpan().CopyTo(destination);


    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowIndexOutOfRange(int index, int count) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"The probe declared {count} signals; valid indices are 0 to {count - 1}.");

    private int IndexOf(string signal)
    {
        for (var i = 0; i < _signals.Count; i++)
        {
            if (string.Equals(_signals[i].Name, signal, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"The probe did not declare the signal '{signal}' in its Signals list.", nameof(signal));
    }
}
