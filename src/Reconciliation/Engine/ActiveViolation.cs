
namespace Reconciliation;

/// <summary>The engine's mutable state of one open violation; <see cref="Snapshot"/> makes the public view.</summary>
internal sealed class ActiveViolation
{
    public ActiveViolation(RuleInstance instance, double observed, DateTimeOffset openedAt)
    {
        Instance = instance;
        Observed = observed;
        OpenedAt = openedAt;
    }

    public RuleInstance Instance { get; }

    public double Observed { get; set; }

    public DateTimeOffset OpenedAt { get; }

    public ViolationState State { get; set; } = ViolationState.Open;

    /// <summary>Attempts across all healers.</summary>
    public int Attempts { get; set; }

    /// <summary>Index into the rule's <c>Heal</c> list of the healer tried now.</summary>
    public int HealerIndex { get; set; }

    /// <summary>Attempts of the current healer on this violation (drives dry-run escalation).</summary>
    public int HealerAttempts { get; set; }

    public int ConsecutiveFailures { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset VerifyDeadline { get; set; }

    /// <summary>The attempt awaiting verification.</summary>
    public HealRecord? PendingVerification { get; set; }

    public string? HeldBack { get; set; }

    /// <summary>Reasons already logged while escalating past healers that cannot run, so they are logged once.</summary>
    public bool SkipLogged { get; set; }

    public string? CurrentHealer =>
        HealerIndex < Instance.Rule.Heal.Length ? Instance.Rule.Heal[HealerIndex]
        : Instance.Rule.Heal.Length > 0 ? Instance.Rule.Heal[^1] : null;

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
    };
}
