namespace Reconciliation;

/// <summary>
/// Declares one signal a probe emits: its name (<c>postgres.pool.usage</c>), unit and meaning.
/// Probes declare their signals at registration so rules are checked against them at start
/// and compiled to array indices.
/// </summary>
/// <param name="Name">The signal's name; the public contract rules refer to.</param>
/// <param name="Unit">The unit: see <see cref="SignalUnits"/> (ratios are 0..1, durations seconds, sizes bytes).</param>
/// <param name="Description">What the number means, for docs, dashboards and the status page.</param>
public sealed record SignalDescriptor(string Name, string Unit, string Description);
