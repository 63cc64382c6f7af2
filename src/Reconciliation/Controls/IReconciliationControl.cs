namespace Reconciliation;

/// <summary>
/// What an operator tells the automation at run time: "not now" (silences, a pause), "ask me first" (approve or reject
/// proposals). Every change is written to the coordination store (<see cref="IControlStore"/>), so with a shared store
/// (PostgreSQL or Redis coordination) the whole fleet obeys it; with the default process-local store only this process does.
/// A control never stops detection: a held violation is still opened, reported and counted; only its heals wait.
/// </summary>
public interface IReconciliationControl
{
    /// <summary>Silences not yet expired (from configuration and added at run time), soonest ending first.</summary>
    IReadOnlyList<Silence> Silences { get; }

    /// <summary>Proposals awaiting a decision (approval tier <see cref="ApprovalMode.Propose"/>), oldest first.</summary>
    IReadOnlyList<HealProposal> Proposals { get; }

    /// <summary>The operator's pause of all healing, or <see langword="null"/> when healing is not paused by an operator.</summary>
    HealingPause? Pause { get; }

    /// <summary>Reads the shared control state again (what another replica changed), at most <see cref="ReconciliationOptions.CallTimeout"/>.</summary>
    Task RefreshAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a silence and returns it with its id. Fails with <see cref="ArgumentException"/> on an invalid request.</summary>
    Task<Silence> AddSilenceAsync(SilenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>Ends a silence now. False when no silence of that id is active (configuration silences cannot be expired here).</summary>
    Task<bool> ExpireSilenceAsync(string id, string by, CancellationToken cancellationToken = default);

    /// <summary>Approves a pending proposal: the next tick runs its heal once (if the violation is still open). False when no such pending proposal.</summary>
    Task<bool> ApproveAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>Rejects a pending proposal: its heal does not run; the violation stays open and reported. False when no such pending proposal.</summary>
    Task<bool> RejectAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>Pauses all healing (detection goes on) until <paramref name="until"/> or until <see cref="ResumeAsync"/>.</summary>
    Task<HealingPause> PauseAsync(string by, string reason, DateTimeOffset? until = null, CancellationToken cancellationToken = default);

    /// <summary>Ends an operator's pause. False when healing was not paused by an operator.</summary>
    Task<bool> ResumeAsync(string by, CancellationToken cancellationToken = default);
}
