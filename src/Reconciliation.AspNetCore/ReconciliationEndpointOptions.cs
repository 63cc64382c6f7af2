namespace Reconciliation;

/// <summary>
/// Who may use the endpoints <c>MapReconciliation()</c> maps. Changes (silences, approvals, pause, a tick) need
/// <see cref="MutationPolicy"/>: there is no anonymous change unless the app says so with
/// <see cref="AllowAnonymousMutations"/>, and mapping fails at start when neither is set.
/// </summary>
public sealed class ReconciliationEndpointOptions
{
    /// <summary>The number of heal records the status JSON carries. Default 50.</summary>
    public const int DefaultHistory = 50;

    /// <summary>
    /// The authorization policy a caller must satisfy to change anything (add or expire a silence, approve or reject a
    /// proposal, pause or resume healing, run a tick). Required unless <see cref="AllowAnonymousMutations"/> is set.
    /// The caller's name (<c>ClaimsPrincipal.Identity.Name</c>) is recorded as the owner or decider.
    /// </summary>
    public string? MutationPolicy { get; set; }

    /// <summary>
    /// Lets anyone who can reach the endpoints change the controls (recorded as <c>anonymous</c> when the caller has no
    /// name). Only for a process bound to loopback or a demo; never with a port others reach.
    /// </summary>
    public bool AllowAnonymousMutations { get; set; }

    /// <summary>
    /// The authorization policy for the page, the status JSON and the lists. Unset: the same as
    /// <see cref="MutationPolicy"/> (only the people who may change the controls see them), unless
    /// <see cref="AllowAnonymousReads"/> is set.
    /// </summary>
    public string? ReadPolicy { get; set; }

    /// <summary>Lets anyone read the page, the status JSON and the lists (names and numbers only, never secrets). Ignored when <see cref="ReadPolicy"/> is set.</summary>
    public bool AllowAnonymousReads { get; set; }

    /// <summary>The number of heal records the status JSON carries (0 to 1000). Default <see cref="DefaultHistory"/>.</summary>
    public int History { get; set; } = DefaultHistory;
}
