namespace Reconciliation;

/// <summary>
/// Acts on a resource to bring a drifted signal back. Healers are ordinary DI singletons
/// (<c>builder.AddHealer&lt;MyHealer&gt;()</c>); the engine calls them under the heal policy, never twice
/// at once for the same resource, under a timeout, and verifies the result on the following ticks.
/// </summary>
public interface IHealer
{
    /// <summary>The name rules refer to in <c>Heal</c> (<c>postgres.clear-pool</c>).</summary>
    string Name { get; }

    /// <summary>
    /// True when the healer can lose data or interrupt work (terminating sessions, evicting keys, restarting).
    /// Destructive healers run only when the host opted in by name (<c>AllowDestructive</c>).
    /// </summary>
    bool IsDestructive { get; }

    /// <summary>Whether the healer acts on a resource other replicas share (then it runs under an <see cref="IHealLease"/>) or only on this process.</summary>
    HealScope Scope { get; }

    /// <summary>
    /// Whether this healer instance acts on <paramref name="resource"/>. Adapters register one instance per
    /// resource under the same name; the engine picks the first that applies.
    /// </summary>
    bool AppliesTo(string resource) => true;

    /// <summary>Describes what <see cref="HealAsync"/> would do, for dry-run logs and reports.</summary>
    string DescribePlan(HealContext context) => $"run {Name} on {context.Resource}";

    /// <summary>Acts. Return <see cref="HealOutcome.Healed"/> when the action was carried out (the engine then verifies that the violation closes).</summary>
    ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken);
}
