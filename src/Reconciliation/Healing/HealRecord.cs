
namespace Reconciliation;

/// <summary>One heal attempt, or the later verdict on one, as the journal keeps it.</summary>
/// <param name="Healer">The healer's name.</param>
/// <param name="Resource">The resource it acted on.</param>
/// <param name="Rule">The rule whose violation it answered.</param>
/// <param name="StartedAt">When the attempt started.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Reason">The outcome's reason, if any.</param>
public sealed record HealRecord(string Healer, string Resource, string Rule, DateTimeOffset StartedAt, HealOutcomeKind Outcome, string? Reason)
{
    /// <summary>
    /// True for the verdict recorded after a <see cref="HealOutcomeKind.Healed"/> attempt: <see cref="HealOutcomeKind.Healed"/>
    /// when the violation closed in time, <see cref="HealOutcomeKind.Failed"/> when it did not. Verdicts are history, not attempts.
    /// </summary>
    public bool IsVerdict { get; init; }

    /// <summary>
    /// The record's own id, new for every record the engine writes (a verdict gets its own): a shared journal stores a
    /// record once per id, so a write replayed after a timeout or an outage never counts twice.
    /// </summary>
    public Guid Id { get; init; }

    /// <summary>The replica (<see cref="ReconciliationOptions.ReplicaId"/>) that ran the heal.</summary>
    public string? Replica { get; init; }

    /// <summary>The fencing token of the shared-resource lease the heal held, or <see langword="null"/> for a process-scoped heal.</summary>
    public long? LeaseToken { get; init; }

    /// <summary>True when the record counts as an attempt toward <c>MaxAttempts</c> and the global budget.</summary>
    public bool IsAttempt => !IsVerdict && Outcome is HealOutcomeKind.Healed or HealOutcomeKind.Failed;
}
