namespace Reconciliation;

/// <summary>A probe that threw, timed out or was unavailable during a tick.</summary>
/// <param name="Resource">The probe's resource.</param>
/// <param name="Probe">The probe's type name.</param>
/// <param name="Reason">Why, without secrets: the exception type and a scrubbed message, or "timed out after …".</param>
public sealed record ProbeFailure(string Resource, string Probe, string Reason);
