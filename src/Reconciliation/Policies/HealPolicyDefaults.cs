namespace Reconciliation;

/// <summary>Defaults of <see cref="HealPolicyOptions"/> and <see cref="HealBudgetOptions"/>.</summary>
public static class HealPolicyDefaults
{
    /// <summary>1 minute.</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);

    /// <summary>3 attempts.</summary>
    public const int MaxAttempts = 3;

    /// <summary>10 minutes.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    /// <summary>Doubling.</summary>
    public const double BackoffMultiplier = 2;

    /// <summary>10 minutes.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>30 seconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Global budget: 20 heals.</summary>
    public const int BudgetMaxHeals = 20;

    /// <summary>Global budget window: 10 minutes.</summary>
    public static readonly TimeSpan BudgetWindow = TimeSpan.FromMinutes(10);

    /// <summary>Global budget pause: 10 minutes.</summary>
    public static readonly TimeSpan BudgetPause = TimeSpan.FromMinutes(10);
}
