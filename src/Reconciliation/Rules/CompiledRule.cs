
namespace Reconciliation;

/// <summary>A validated rule, resolved for the engine: limits as doubles, healers with their resolved policies.</summary>
internal sealed class CompiledRule
{
    public CompiledRule(string name, RuleOptions options, ReconciliationOptions global)
    {
        Name = name;
        Signal = options.Signal!;
        IsAbove = options.Above is not null;
        Limit = options.Above ?? options.Below!.Value;
        Clear = options.Clear ?? Limit;
        For = options.For ?? TimeSpan.Zero;
        Severity = options.Severity;
        Resource = options.Resource;
        Tags = options.Tags.ToArray();
        Heal = options.Heal.ToArray();
        Policies = new HealPolicy[Heal.Length];
        Approvals = new ApprovalMode[Heal.Length];
        var ruleApproval = options.Approval ?? global.Approval;
        for (var i = 0; i < Heal.Length; i++)
        {
            options.Healers.TryGetValue(Heal[i], out var ruleOverride);
            global.Healers.TryGetValue(Heal[i], out var healerPolicy);
            Policies[i] = HealPolicy.Resolve(ruleOverride, healerPolicy, global);
            // The rule's mode replaces the global one; a healer's mode can only make it stricter (Auto < Propose < Off).
            var healerApproval = ruleOverride?.Approval ?? healerPolicy?.Approval;
            Approvals[i] = healerApproval is { } h && h > ruleApproval ? h : ruleApproval;
        }

        InhibitedBy = options.InhibitedBy.ToArray();
        InhibitSameResource = options.InhibitSameResource;
        InhibitAfterClose = options.InhibitAfterClose ?? TimeSpan.Zero;
        KeepFor = options.KeepFor ?? TimeSpan.Zero;
        FlapMaxOpens = options.Flapping?.MaxOpens ?? global.Flapping.MaxOpens ?? HealingDefaults.FlapMaxOpens;
        FlapWindow = options.Flapping?.Window ?? global.Flapping.Window ?? HealingDefaults.FlapWindow;
        FlapMuteFor = options.Flapping?.MuteFor ?? global.Flapping.MuteFor ?? HealingDefaults.FlapMuteFor;
    }

    /// <summary>The approval mode of each healer in <see cref="Heal"/>.</summary>
    public ApprovalMode[] Approvals { get; }

    /// <summary>Rules whose open violation holds this rule's heals back.</summary>
    public string[] InhibitedBy { get; }

    /// <summary>Only an inhibiting violation on the same resource counts.</summary>
    public bool InhibitSameResource { get; }

    /// <summary>How long an inhibiting violation still inhibits after it closed.</summary>
    public TimeSpan InhibitAfterClose { get; }

    /// <summary>How long a violation stays open after its signal cleared.</summary>
    public TimeSpan KeepFor { get; }

    /// <summary>Opens allowed within <see cref="FlapWindow"/> (0: the flap breaker is off).</summary>
    public int FlapMaxOpens { get; }

    public TimeSpan FlapWindow { get; }

    public TimeSpan FlapMuteFor { get; }

    public string Name { get; }

    public string Signal { get; }

    public bool IsAbove { get; }

    public double Limit { get; }

    public double Clear { get; }

    public TimeSpan For { get; }

    public RuleSeverity Severity { get; }

    public string? Resource { get; }

    public string[] Tags { get; }

    public string[] Heal { get; }

    public HealPolicy[] Policies { get; }

    public bool IsBreach(double value) => IsAbove ? value > Limit : value < Limit;

    public bool IsCleared(double value) => IsAbove ? value <= Clear : value >= Clear;

    /// <summary>Same rule for the purposes of keeping an open violation across a reload.</summary>
    public bool SameIdentity(CompiledRule other) =>
        string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase) && string.Equals(Signal, other.Signal, StringComparison.Ordinal)
        && IsAbove == other.IsAbove;
}
