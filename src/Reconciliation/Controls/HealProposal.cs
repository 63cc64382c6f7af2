namespace Reconciliation;

/// <summary>
/// A heal the engine wants to run on a rule whose approval mode is <see cref="ApprovalMode.Propose"/>: it runs once,
/// on the first tick after approval while its violation is still open; it lapses at <see cref="ExpiresAt"/>.
/// </summary>
public sealed record HealProposal
{
    /// <summary>Its id.</summary>
    public required string Id { get; init; }

    /// <summary>The rule whose violation it answers.</summary>
    public required string Rule { get; init; }

    /// <summary>The resource.</summary>
    public required string Resource { get; init; }

    /// <summary>The healer it would run.</summary>
    public required string Healer { get; init; }

    /// <summary>The signal's reading when it was proposed.</summary>
    public required double Observed { get; init; }

    /// <summary>What the healer says it would do (its plan), when it can tell.</summary>
    public string? Plan { get; init; }

    /// <summary>The replica that proposed it.</summary>
    public string? Replica { get; init; }

    /// <summary>When it was proposed.</summary>
    public required DateTimeOffset ProposedAt { get; init; }

    /// <summary>When it lapses if nobody decides.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Where it stands.</summary>
    public required ProposalState State { get; init; }

    /// <summary>Who approved or rejected it.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>When it was approved or rejected.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>When the approved heal was started (state <see cref="ProposalState.Executed"/>).</summary>
    public DateTimeOffset? ExecutedAt { get; init; }

    /// <summary>The decider's comment.</summary>
    public string? Comment { get; init; }
}
