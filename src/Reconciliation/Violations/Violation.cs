
namespace Reconciliation;

/// <summary>A snapshot of one violation: a rule breached on one resource.</summary>
public sealed record Violation
{
    /// <summary>The rule's name.</summary>
    public required string Rule { get; init; }

    /// <summary>The signal the rule watches.</summary>
    public required string Signal { get; init; }

    /// <summary>The resource that breached.</summary>
    public required string Resource { get; init; }

    /// <summary>The last observed value.</summary>
    public required double Observed { get; init; }

    /// <summary>The rule's limit.</summary>
    public required double Limit { get; init; }

    /// <summary>The level the value must get back to for the violation to close.</summary>
    public required double Clear { get; init; }

    /// <summary>True for an <c>Above</c> rule, false for <c>Below</c>.</summary>
    public required bool IsAbove { get; init; }

    /// <summary>How bad it is.</summary>
    public required RuleSeverity Severity { get; init; }

    /// <summary>When it opened.</summary>
    public required DateTimeOffset OpenedAt { get; init; }

    /// <summary>When it closed, if it did.</summary>
    public DateTimeOffset? ClosedAt { get; init; }

    /// <summary>Heal attempts made on it, across all healers.</summary>
    public required int Attempts { get; init; }

    /// <summary>The healer the engine tries now (or tried last), if any.</summary>
    public string? CurrentHealer { get; init; }

    /// <summary>Where it is in its life.</summary>
    public required ViolationState State { get; init; }

    /// <summary>Why no heal runs now (cooldown, backoff, warm-up, budget pause, exhausted), if that is the case.</summary>
    public string? HeldBack { get; init; }

    /// <summary>The rule's tags (for health check filtering).</summary>
    public required IReadOnlyList<string> Tags { get; init; }

    /// <summary>The id of the silence (or the name of the maintenance window) that holds its heals, if one does.</summary>
    public string? SilencedBy { get; init; }

    /// <summary>The open rule that inhibits its heals, if one does (<c>InhibitedBy</c>).</summary>
    public string? InhibitedBy { get; init; }

    /// <summary>True while its rule is muted for flapping (opened too often within the flap window).</summary>
    public bool IsFlapping { get; init; }

    /// <summary>The id of the proposal awaiting approval for its next heal, if one does.</summary>
    public string? ProposalId { get; init; }
}
