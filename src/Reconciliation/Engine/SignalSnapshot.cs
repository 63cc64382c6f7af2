using System.Collections;

namespace Reconciliation;

/// <summary>
/// A report's readings: one copy of the tick's values over the signal table's names, resources and units (shared,
/// never copied). Items are built on access (<see cref="SignalReading"/> is a struct), and a tick whose readings are
/// all the same as the previous tick's shares the previous snapshot, so a steady tick copies nothing.
/// </summary>
internal sealed class SignalSnapshot : IReadOnlyList<SignalReading>
{
    private readonly SignalTable _table;
    private readonly double[] _values;

    private SignalSnapshot(SignalTable table, double[] values)
    {
        _table = table;
        _values = values;
    }

    public int Count => _values.Length;

    public SignalReading this[int index]
    {
        get
        {
            var value = _values[index];
            return new SignalReading(_table.Names[index], _table.Resources[index], _table.Units[index], double.IsNaN(value) ? null : value);
        }
    }

    /// <summary>The snapshot of <paramref name="table"/>'s current values: <paramref name="previous"/> itself when nothing changed.</summary>
    public static SignalSnapshot Take(SignalTable table, SignalSnapshot? previous)
    {
        var current = table.Values;
        if (previous is not null && ReferenceEquals(previous._table, table) && SameValues(previous._values, current))
        {
            return previous;
        }

        return new SignalSnapshot(table, (double[])current.Clone());
    }

    public IEnumerator<SignalReading> GetEnumerator()
    {
        for (var i = 0; i < _values.Length; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // Bitwise, so NaN ("no reading") equals NaN and -0.0 differs from 0.0: "the same reading", not numeric equality.
    private static bool SameValues(double[] a, double[] b) =>
        a.Length == b.Length && MemoryMarshalBytes(a).SequenceEqual(MemoryMarshalBytes(b));

    private static ReadOnlySpan<byte> MemoryMarshalBytes(double[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
}
