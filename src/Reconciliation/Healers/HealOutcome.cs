namespace Reconciliation;

/// <summary>The result of one heal attempt.</summary>
public readonly record struct HealOutcome
{
    private HealOutcome(HealOutcomeKind kind, string? reason)
    {
        Kind = kind;
        Reason = reason;
    }

    /// <summary>How the attempt ended.</summary>
    public HealOutcomeKind Kind { get; }

    /// <summary>Why it failed or was skipped, or what was done. Never contains secrets.</summary>
    public string? Reason { get; }

    /// <summary>The action was carried out.</summary>
    public static HealOutcome Healed(string? detail = null) => new(HealOutcomeKind.Healed, detail);

    /// <summary>The action failed.</summary>
    public static HealOutcome Failed(string reason) => new(HealOutcomeKind.Failed, reason);

    /// <summary>Nothing was done.</summary>
    public static HealOutcome Skipped(string reason) => new(HealOutcomeKind.Skipped, reason);

    /// <summary>Dry-run: the plan, not carried out.</summary>
    internal static HealOutcome DryRun(string plan) => new(HealOutcomeKind.DryRun, plan);

    /// <inheritdoc />
    public override string ToString() => Reason is null ? Kind.ToString() : $"{Kind}: {Reason}";
}
