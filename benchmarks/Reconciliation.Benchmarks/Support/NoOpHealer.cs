
namespace Reconciliation.Benchmarks.Support;

/// <summary>A healer that does nothing and reports success, so a heal costs only the engine's bookkeeping.</summary>
internal sealed class NoOpHealer : IHealer
{
    public const string HealerName = "bench.noop";

    private static readonly ValueTask<HealOutcome> Healed = new(HealOutcome.Healed());

    public string Name => HealerName;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.Process;

    public int Calls { get; private set; }

    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        Calls++;
        return Healed;
    }
}
