
namespace Reconciliation;

/// <summary>A rule applied to one (signal, resource) slot, with its breach-tracking state.</summary>
internal sealed class RuleInstance
{
    public RuleInstance(CompiledRule rule, int slot, string resource)
    {
        Rule = rule;
        Slot = slot;
        Resource = resource;
    }

    public CompiledRule Rule { get; set; }

    public int Slot { get; }

    public string Resource { get; }

    /// <summary>True while consecutive readings breach (a missing reading leaves it set but marks a gap).</summary>
    public bool Breaching { get; set; }

    /// <summary>A missing reading came after the last breaching reading: that time does not count toward <c>For</c>.</summary>
    public bool Gap { get; set; }

    /// <summary>Breach time accumulated over consecutive breaching readings.</summary>
    public TimeSpan Accumulated { get; set; }

    public DateTimeOffset LastBreachAt { get; set; }

    /// <summary>The open violation, if any.</summary>
    public ActiveViolation? Violation { get; set; }

    public void ResetBreach()
    {
        Breaching = false;
        Gap = false;
        Accumulated = TimeSpan.Zero;
    }
}
