
namespace Reconciliation;

/// <summary>
/// A threshold on a signal: <c>Signal</c> <c>Above</c>/<c>Below</c> a limit, sustained <c>For</c> a duration,
/// cleared only past <c>Clear</c>, with a severity and an ordered list of healers (escalation).
/// Bound from <c>Reconciliation:Rules:&lt;name&gt;</c> or built with <c>AddRule</c>.
/// </summary>
public sealed class RuleOptions
{
    /// <summary>The signal the rule watches (<c>postgres.pool.usage</c>). Required.</summary>
    public string? Signal { get; set; }

    /// <summary>Breach when the value is above this limit. Exactly one of <see cref="Above"/> and <see cref="Below"/>.</summary>
    public double? Above { get; set; }

    /// <summary>Breach when the value is below this limit. Exactly one of <see cref="Above"/> and <see cref="Below"/>.</summary>
    public double? Below { get; set; }

    /// <summary>
    /// The level the value must get back to before an open violation closes (hysteresis, so it does not flap).
    /// Defaults to the limit; must be on the healthy side of it (at or under <see cref="Above"/>, at or over <see cref="Below"/>).
    /// </summary>
    public double? Clear { get; set; }

    /// <summary>How long the breach must last (on the <see cref="TimeProvider"/> clock) before a violation opens. Default: open at the first breaching reading.</summary>
    public TimeSpan? For { get; set; }

    /// <summary>How bad an open violation is. Default <see cref="RuleSeverity.Degraded"/>.</summary>
    public RuleSeverity Severity { get; set; } = RuleSeverity.Degraded;

    /// <summary>Healer names tried in order; the next is tried when one's attempts are used up. Empty: report only.</summary>
    public IList<string> Heal { get; } = new List<string>();

    /// <summary>The one resource the rule applies to; without it, every resource that emits the signal, each with its own violation.</summary>
    public string? Resource { get; set; }

    /// <summary>Free-form tags; a health check registration can count only the rules with a given tag (<c>ready</c>, <c>live</c>).</summary>
    public IList<string> Tags { get; } = new List<string>();

    /// <summary>False turns the rule off without deleting it. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Per-rule overrides of the heal policy, by healer name (<c>Rules:x:Healers:postgres.clear-pool:Cooldown</c>).</summary>
    public IDictionary<string, HealPolicyOptions> Healers { get; } = new Dictionary<string, HealPolicyOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Rules whose open violation inhibits this rule's heals (<c>["postgres-down"]</c>): while one of them is open, this
    /// rule still detects and reports but does not heal.
    /// </summary>
    public IList<string> InhibitedBy { get; } = new List<string>();

    /// <summary>True: only an inhibiting violation on the same resource inhibits. Default false (any resource).</summary>
    public bool InhibitSameResource { get; set; }

    /// <summary>
    /// How long an inhibiting violation still inhibits after it closed. Default 0. For a signal that lags its cause: a
    /// latency window still holds the slow requests of a pool saturation for a while after the pool recovered.
    /// </summary>
    public TimeSpan? InhibitAfterClose { get; set; }

    /// <summary>This rule's approval mode; unset for the global <see cref="ReconciliationOptions.Approval"/>.</summary>
    public ApprovalMode? Approval { get; set; }

    /// <summary>How long a violation stays open after its signal cleared (it closes only if it stays clear that long). Default 0.</summary>
    public TimeSpan? KeepFor { get; set; }

    /// <summary>This rule's flap breaker; unset fields come from <see cref="ReconciliationOptions.Flapping"/>.</summary>
    public FlappingOptions? Flapping { get; set; }
}
