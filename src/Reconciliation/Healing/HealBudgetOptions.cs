namespace Reconciliation;

/// <summary>
/// The global heal budget, a circuit breaker against heal storms: after more than <see cref="MaxHeals"/>
/// heals across all rules within <see cref="Window"/>, healing pauses for <see cref="Pause"/>, and the pause is reported.
/// </summary>
public sealed class HealBudgetOptions
{
    /// <summary>Heals allowed per window. Default 20.</summary>
    public int MaxHeals { get; set; } = HealingDefaults.BudgetMaxHeals;

    /// <summary>The sliding window. Default 10 minutes.</summary>
    public TimeSpan Window { get; set; } = HealingDefaults.BudgetWindow;

    /// <summary>How long healing pauses once the budget is spent. Default 10 minutes.</summary>
    public TimeSpan Pause { get; set; } = HealingDefaults.BudgetPause;
}
