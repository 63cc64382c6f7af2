namespace Reconciliation;

/// <summary>The stored control state (JSON written by the engine) and its version, for <see cref="IControlStore"/>.</summary>
/// <param name="Json">The document.</param>
/// <param name="Version">Its version: 1 for the first write, one more for each later write.</param>
public sealed record ControlDocument(string Json, long Version);
