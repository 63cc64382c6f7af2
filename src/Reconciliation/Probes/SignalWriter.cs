using Reconciliation.Signals;

namespace Reconciliation.Probes;

/// <summary>
/// Where a probe writes its readings: a window onto the engine's preallocated signal storage.
/// Writing allocates nothing. A writer is closed when its probe times out, so a probe that wakes up late
/// can never overwrite a later tick's readings.
/// </summary>
public sealed class SignalWriter
{
    private readonly double[] _values;
    private readonly int _offset;
    private readonly IReadOnlyList<SignalDescriptor> _signals;
    private volatile bool _open = true;

    internal SignalWriter(double[] values, int offset, IReadOnlyList<SignalDescriptor> signals)
    {
        _values = values;
        _offset = offset;
        _signals = signals;
    }

    /// <summary>Writes the reading of the signal at <paramref name="index"/> in the probe's <see cref="IProbe.Signals"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is not one of the probe's signals.</exception>
    public void Write(int index, double value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _signals.Count);
        if (_open)
        {
            // NaN is the engine's "no reading"; a probe that computes NaN (0/0) has no reading either.
            _values[_offset + index] = double.IsInfinity(value) ? double.NaN : value;
        }
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
        var value = _values[_offset + index];
        return double.IsNaN(value) ? null : value;
    }

    internal void Reset()
    {
        _values.AsSpan(_offset, _signals.Count).Fill(double.NaN);
    }

    internal void Close() => _open = false;

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
