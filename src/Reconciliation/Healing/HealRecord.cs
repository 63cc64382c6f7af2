
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

    /// <summary>True when the record counts as an attempt toward <c>MaxAttempts</c> and the global budget.</summary>
    public bool IsAttempt => !IsVerdict && Outcome is HealOutcomeKind.Healed or HealOutcomeKind.Failed;
}
