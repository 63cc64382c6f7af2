namespace Reconciliation;

/// <summary>
/// The heal policy of one healer (<c>Reconciliation:Healers:&lt;name&gt;</c>), overridable per rule
/// (<c>Reconciliation:Rules:&lt;rule&gt;:Healers:&lt;name&gt;</c>). Unset values fall back to the healer's
/// policy, then to the defaults documented on each property.
/// </summary>
public sealed class HealPolicyOptions
{
    /// <summary>The least time between two attempts of this healer on one resource. Default 1 minute.</summary>
    public TimeSpan? Cooldown { get; set; }

    /// <summary>Attempts allowed per <see cref="Window"/> on one resource before the rule escalates to its next healer. Default 3.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>The sliding window <see cref="MaxAttempts"/> counts over. Default 10 minutes.</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>After each failed attempt the wait before the next grows by this factor (exponential backoff). Default 2.</summary>
    public double? BackoffMultiplier { get; set; }

    /// <summary>The cap of the backoff wait. Default 10 minutes.</summary>
    public TimeSpan? MaxBackoff { get; set; }

    /// <summary>How long one attempt may run before it is cancelled and counted as failed. Default 30 seconds.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>How long after a heal the violation must close for the heal to count as successful. Default: one interval.</summary>
    public TimeSpan? VerifyWithin { get; set; }

    /// <summary>Log and report the plan instead of acting. Default false (or the global <c>DryRun</c>).</summary>
    public bool? DryRun { get; set; }

    /// <summary>
    /// The blast-radius cap: the most targets (sessions, jobs, keys, connections) one heal of this healer may act on.
    /// Healers that act on many targets honour it (see <see cref="HealContext.MaxTargets"/>) and report when it binds.
    /// Unset: the healer's own default.
    /// </summary>
    public int? MaxTargets { get; set; }

    /// <summary>This healer's approval mode; unset for the rule's (or the global) mode. The strictest of the rule's and the healer's applies.</summary>
    public ApprovalMode? Approval { get; set; }
}
