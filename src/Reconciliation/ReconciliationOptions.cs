using Reconciliation.BuiltIn;

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

    /// <summary>
    /// The deadline of every call the engine makes into the heal journal, the lease and a healer's plan, and of the
    /// heal-planning phase of one tick as a whole. Default 5 seconds. A journal that lives in a saturated database then
    /// holds healing back ("not healed this tick"), never the loop. Bounds a tick at about
    /// <see cref="ProbeTimeout"/> + <c>CallTimeout</c> + half an <see cref="Interval"/> (the most it waits for its heals).
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = HealingDefaults.CallTimeout;

    /// <summary>No heals until the reconciler has run this long (and not before a first full tick). Default 30 seconds.</summary>
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Log and report what would be healed, for every healer, instead of acting. Default false.</summary>
    public bool DryRun { get; set; }

    /// <summary>False pauses the background loop (read on every tick, so a reload can switch it; the reconciler still runs on demand). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// This replica's name in a fleet: heal records carry it, the rule state a replica saves and resumes after a restart
    /// is keyed by it, and process-scoped healers (<c>app.restart</c>) count only their own replica's attempts. It must
    /// stay the same across restarts of the same replica and differ between replicas. Default: the machine name (the
    /// pod name under Kubernetes); set it when several replicas run on one machine.
    /// </summary>
    public string ReplicaId { get; set; } = Environment.MachineName;

    /// <summary>The crash-loop breaker and fleet guard of <c>app.restart</c>.</summary>
    public AppRestartOptions AppRestart { get; set; } = new();

    /// <summary>Names of destructive healers the host allows to act (<c>app.restart</c>). Default: none.</summary>
    public IList<string> AllowDestructive { get; } = new List<string>();

    /// <summary>The global heal budget (circuit breaker against heal storms).</summary>
    public HealBudgetOptions HealBudget { get; set; } = new();

    /// <summary>The approval mode of every rule and healer that does not set its own. Default <see cref="ApprovalMode.Auto"/>.</summary>
    public ApprovalMode Approval { get; set; } = ApprovalMode.Auto;

    /// <summary>How long a heal proposal waits for a decision before it lapses. Default 30 minutes.</summary>
    public TimeSpan ProposalExpiry { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long before a silence ends the <c>SilenceExpiring</c> event fires. Default 5 minutes.</summary>
    public TimeSpan SilenceExpiryNotice { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The flap breaker of every rule that does not set its own.</summary>
    public FlappingOptions Flapping { get; set; } = new();

    /// <summary>Silences from configuration, by id.</summary>
    public IDictionary<string, SilenceOptions> Silences { get; } = new Dictionary<string, SilenceOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Recurring maintenance windows that mute healing, by name.</summary>
    public IDictionary<string, MaintenanceWindowOptions> MaintenanceWindows { get; } = new Dictionary<string, MaintenanceWindowOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Rules by name (<c>pool-saturation</c>).</summary>
    public IDictionary<string, RuleOptions> Rules { get; } = new Dictionary<string, RuleOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Heal policies by healer name.</summary>
    public IDictionary<string, HealPolicyOptions> Healers { get; } = new Dictionary<string, HealPolicyOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Liveness and readiness without an HTTP server: a heartbeat file and TCP probe ports (all off by default).</summary>
    public HeartbeatOptions Heartbeat { get; set; } = new();

    /// <summary>The configuration path the options were bound from, for error messages that name the full key.</summary>
    internal string ConfigurationPath { get; set; } = SectionName;

    /// <summary>Values that did not bind (the binder's messages name their keys); the validator reports them.</summary>
    internal List<string> BindErrors { get; } = [];
}
