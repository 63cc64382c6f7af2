namespace Reconciliation.Demo;

/// <summary>What happened to one injected fault: when it was injected, detected, healed and recovered.</summary>
internal sealed class FaultRecord(string name, string rule)
{
    public string Name { get; } = name;

    public string Rule { get; } = rule;

    public TimeSpan? InjectedAt { get; set; }

    public TimeSpan? DetectedAt { get; set; }

    public TimeSpan? HealedAt { get; set; }

    public TimeSpan? RecoveredAt { get; set; }

    public string? Healer { get; set; }

    public bool Done => RecoveredAt is not null;
}
