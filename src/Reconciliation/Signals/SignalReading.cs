namespace Reconciliation;

/// <summary>One signal's value for one resource in a report.</summary>
/// <param name="Signal">The signal's name.</param>
/// <param name="Resource">The resource it was read from (<c>main-db</c>).</param>
/// <param name="Unit">The signal's unit.</param>
/// <param name="Value">The reading, or <see langword="null"/> when the probe had no reading this tick.</param>
public readonly record struct SignalReading(string Signal, string Resource, string Unit, double? Value);
