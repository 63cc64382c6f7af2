
namespace Reconciliation;

/// <summary>What a healer is asked to fix: the violation as the engine sees it when the heal starts.</summary>
public sealed class HealContext
{
    /// <summary>Creates a context. The engine creates these; tests of custom healers may too.</summary>
    public HealContext(string rule, string signal, string resource, double observed, double limit, RuleSeverity severity,
        DateTimeOffset openedAt, int attempt, bool dryRun)
    {
        Rule = rule;
        Signal = signal;
        Resource = resource;
        Observed = observed;
        Limit = limit;
        Severity = severity;
        OpenedAt = openedAt;
        Attempt = attempt;
        DryRun = dryRun;
    }

    /// <summary>The rule's name (<c>pool-saturation</c>).</summary>
    public string Rule { get; }

    /// <summary>The signal that breached (<c>postgres.pool.usage</c>).</summary>
    public string Signal { get; }

    /// <summary>The resource to heal (<c>main-db</c>).</summary>
    public string Resource { get; }

    /// <summary>The last observed value.</summary>
    public double Observed { get; }

    /// <summary>The rule's limit.</summary>
    public double Limit { get; }

    /// <summary>The rule's severity.</summary>
    public RuleSeverity Severity { get; }

    /// <summary>When the violation opened.</summary>
    public DateTimeOffset OpenedAt { get; }

    /// <summary>The attempt number of this healer on this violation, from 1.</summary>
    public int Attempt { get; }

    /// <summary>True when the engine only asks for a plan (<see cref="IHealer.DescribePlan"/>).</summary>
    public bool DryRun { get; }

    /// <summary>
    /// The most targets (sessions, jobs, keys, connections) this heal may act on, from the healer's policy
    /// (<c>MaxTargets</c>); <see langword="null"/> when the policy sets none and the healer's own default applies.
    /// A healer that acts on many targets stops at this cap and says in its outcome when the cap bound.
    /// </summary>
    public int? MaxTargets { get; init; }

    /// <summary>
    /// The fencing token of the shared-resource lease this heal holds (strictly greater than every earlier holder's), or
    /// <see langword="null"/> for a process-scoped heal. A healer that writes to a store of its own can pass it along so
    /// the store refuses a late write from a holder whose lease was lost.
    /// </summary>
    public long? FencingToken { get; internal set; }

    /// <summary>
    /// The services of this heal's own DI scope (disposed when the healer's task ends), so a healer can use scoped
    /// services; <see langword="null"/> when the healer is called outside the engine.
    /// </summary>
    public IServiceProvider? Services { get; internal set; }
}
