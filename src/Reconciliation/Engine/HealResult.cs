
namespace Reconciliation;

/// <summary>A heal attempt made during a tick.</summary>
/// <param name="Rule">The rule whose violation it answered.</param>
/// <param name="Resource">The resource.</param>
/// <param name="Healer">The healer's name.</param>
/// <param name="Attempt">The attempt number of this healer on this violation, from 1.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Duration">How long the healer ran.</param>
public sealed record HealResult(string Rule, string Resource, string Healer, int Attempt, HealOutcome Outcome, TimeSpan Duration);
