namespace Reconciliation;

/// <summary>Where a <see cref="HealProposal"/> stands.</summary>
public enum ProposalState
{
    /// <summary>Waiting for a decision.</summary>
    Pending = 1,

    /// <summary>Approved: the next tick runs its heal once.</summary>
    Approved = 2,

    /// <summary>Rejected: its heal does not run.</summary>
    Rejected = 3,

    /// <summary>Nobody decided in time.</summary>
    Expired = 4,

    /// <summary>Approved and run.</summary>
    Executed = 5,
}
