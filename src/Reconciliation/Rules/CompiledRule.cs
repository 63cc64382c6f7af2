
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
        for (var i = 0; i < Heal.Length; i++)
        {
            options.Healers.TryGetValue(Heal[i], out var ruleOverride);
            global.Healers.TryGetValue(Heal[i], out var healerPolicy);
            Policies[i] = HealPolicy.Resolve(ruleOverride, healerPolicy, global);
        }
    }

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
