
namespace Reconciliation;

/// <summary>
/// Configuration of the reconciler, bound from the <c>Reconciliation</c> section (see docs/configuration.md).
/// Validated at start; a bad value fails start with its full key named.
/// </summary>
public sealed class ReconciliationOptions
{
    /// <summary>The default section name, <c>Reconciliation</c>.</summary>
    public const string SectionName = "Reconciliation";

    /// <summary>Time between ticks. Default 10 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one probe may take before it counts as failed (<c>probe.failed</c> = 1). Default 5 seconds.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>No heals until the reconciler has run this long (and not before a first full tick). Default 30 seconds.</summary>
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Log and report what would be healed, for every healer, instead of acting. Default false.</summary>
    public bool DryRun { get; set; }

    /// <summary>False stops the background loop (the reconciler still runs on demand). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Names of destructive healers the host allows to act (<c>app.restart</c>). Default: none.</summary>
    public IList<string> AllowDestructive { get; } = new List<string>();

    /// <summary>The global heal budget (circuit breaker against heal storms).</summary>
    public HealBudgetOptions HealBudget { get; set; } = new();

    /// <summary>Rules by name (<c>pool-saturation</c>).</summary>
    public IDictionary<string, RuleOptions> Rules { get; } = new Dictionary<string, RuleOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Heal policies by healer name.</summary>
    public IDictionary<string, HealPolicyOptions> Healers { get; } = new Dictionary<string, HealPolicyOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The configuration path the options were bound from, for error messages that name the full key.</summary>
    internal string ConfigurationPath { get; set; } = SectionName;

    /// <summary>Values that did not bind (the binder's messages name their keys); the validator reports them.</summary>
    internal List<string> BindErrors { get; } = [];
}
