namespace Reconciliation;

/// <summary>
/// The engine's mutable state of one open violation. Only <see cref="HealingController"/> changes its heal state
/// (index, attempts, deadlines, verdicts); the engine creates and closes it.
/// </summary>
internal sealed class ActiveViolation
{
    private HealReason _heldBackReason;
    private DateTimeOffset? _heldBackUntil;

    public ActiveViolation(RuleInstance instance, double observed, DateTimeOffset openedAt)
    {
        Instance = instance;
        Observed = observed;
        OpenedAt = openedAt;
        NextAttemptAt = openedAt;
    }

    public RuleInstance Instance { get; }

    public double Observed { get; set; }

    public DateTimeOffset OpenedAt { get; }

    public ViolationState State { get; set; } = ViolationState.Open;

    /// <summary>Attempts of every healer on this violation (dry-run plans and skips are not attempts).</summary>
    public int Attempts { get; set; }

    public int HealerIndex { get; set; }

    public int HealerAttempts { get; set; }

    public int ConsecutiveFailures { get; set; }

    public int ConsecutiveSkips { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset VerifyDeadline { get; set; }

    /// <summary>The heal that is running for this violation, from its start until its outcome is applied.</summary>
    public HealExecution? Running { get; set; }

    /// <summary>The heal that reported "healed" and awaits its verdict (it still holds its lease).</summary>
    public HealExecution? AwaitingVerdict { get; set; }

    /// <summary>Set when a reload removed or disabled the rule: a heal that finishes afterwards is not judged.</summary>
    public string? DroppedBecause { get; set; }

    public string? HeldBack { get; private set; }

    /// <summary>The control holding its heals back (silence, window, inhibition, flapping, pause, approval), if one does.</summary>
    public ControlHold Hold { get; private set; }

    /// <summary>The proposal its next heal waits for, if it waits for one.</summary>
    public string? ProposalId { get; set; }

    /// <summary>Since when its signal has been cleared while <c>KeepFor</c> keeps it open.</summary>
    public DateTimeOffset? ClearedSince { get; set; }

    /// <summary>Holds back for an operator control; formats the reason only when the control changed.</summary>
    public void HoldBy(ControlHold hold)
    {
        if (hold == Hold && HeldBack is not null)
        {
            return;
        }

        Hold = hold;
        HoldBack(hold.Describe());
        Hold = hold;
    }

    /// <summary>No operator control holds it.</summary>
    public void ReleaseHold() => Hold = ControlHold.None;

    public string? CurrentHealer =>
        HealerIndex < Instance.Rule.Heal.Length ? Instance.Rule.Heal[HealerIndex]
        : Instance.Rule.Heal.Length > 0 ? Instance.Rule.Heal[^1] : null;

    /// <summary>Sets the held-back reason; formats it only when it changed, so a violation held back tick after tick allocates nothing.</summary>
    public void HoldBack(HealReason reason, DateTimeOffset? until = null)
    {
        if (reason == _heldBackReason && until == _heldBackUntil && HeldBack is not null)
        {
            return;
        }

        _heldBackReason = reason;
        _heldBackUntil = until;
        Hold = ControlHold.None;
        HeldBack = HealReasons.Describe(reason, CurrentHealer, Instance.Resource, until);
    }

    /// <summary>Holds back with a reason text of its own (not one of the planner's).</summary>
    public void HoldBack(string reason)
    {
        _heldBackReason = HealReason.None;
        _heldBackUntil = null;
        Hold = ControlHold.None;
        HeldBack = reason;
    }

    public void ClearHoldBack()
    {
        Hold = ControlHold.None;
        _heldBackReason = HealReason.None;
        _heldBackUntil = null;
        HeldBack = null;
    }

    public Violation Snapshot(DateTimeOffset? closedAt = null) => new()
    {
        Rule = Instance.Rule.Name,
        Signal = Instance.Rule.Signal,
        Resource = Instance.Resource,
        Observed = Observed,
        Limit = Instance.Rule.Limit,
        Clear = Instance.Rule.Clear,
        IsAbove = Instance.Rule.IsAbove,
        Severity = Instance.Rule.Severity,
        OpenedAt = OpenedAt,
        ClosedAt = closedAt,
        Attempts = Attempts,
        CurrentHealer = CurrentHealer,
        State = closedAt is null ? State : ViolationState.Closed,
        HeldBack = closedAt is null ? HeldBack : null,
        Tags = Instance.Rule.Tags,
        SilencedBy = closedAt is null && Hold.Kind is ControlHoldKind.Silenced or ControlHoldKind.MaintenanceWindow ? Hold.Name : null,
        InhibitedBy = closedAt is null && Hold.Kind == ControlHoldKind.Inhibited ? Hold.Name : null,
        IsFlapping = Instance.Flaps is { } flaps && flaps.MutedUntil > (closedAt ?? OpenedAt) && (closedAt is not null || Hold.Kind == ControlHoldKind.Flapping),
        ProposalId = closedAt is null ? ProposalId : null,
    };
}
