
namespace Reconciliation;

/// <summary>A rule applied to one (signal, resource) slot, with its breach-tracking state.</summary>
/// <remarks>
/// The <see cref="RuleEvaluator"/> that holds this instance keeps a compiled copy of its limit and of whether it is
/// "active" (breaching or open) in its own arrays, so a healthy tick never touches this object. Every setter that
/// changes either (<see cref="Rule"/>, <see cref="Breaching"/>, <see cref="Violation"/>, <see cref="ResetBreach"/>)
/// tells that evaluator, whoever calls it (the evaluator itself, or the engine opening and closing violations).
/// </remarks>
internal sealed class RuleInstance
{
    private CompiledRule _rule;
    private bool _breaching;
    private ActiveViolation? _violation;
    private RuleEvaluator? _evaluator;
    private int _position;

    public RuleInstance(CompiledRule rule, int slot, string resource)
    {
        _rule = rule;
        Slot = slot;
        Resource = resource;
    }

    public CompiledRule Rule
    {
        get => _rule;
        set
        {
            _rule = value;
            _evaluator?.Recompile(_position);
        }
    }

    public int Slot { get; }

    public string Resource { get; }

    /// <summary>True while consecutive readings breach (a missing reading leaves it set but marks a gap).</summary>
    public bool Breaching
    {
        get => _breaching;
        set
        {
            if (_breaching != value)
            {
                _breaching = value;
                _evaluator?.Refresh(_position);
            }
        }
    }

    /// <summary>When its last violation closed (for <c>InhibitAfterClose</c> of the rules it inhibits).</summary>
    public DateTimeOffset? LastClosedAt { get; set; }

    /// <summary>The flap breaker's record of this instance's opens, made at its first open (null while the breaker is off).</summary>
    public FlapTracker? Flaps { get; set; }

    /// <summary>A missing reading came after the last breaching reading: that time does not count toward <c>For</c>.</summary>
    public bool Gap { get; set; }

    /// <summary>Breach time accumulated over consecutive breaching readings.</summary>
    public TimeSpan Accumulated { get; set; }

    public DateTimeOffset LastBreachAt { get; set; }

    /// <summary>The open violation, if any.</summary>
    public ActiveViolation? Violation
    {
        get => _violation;
        set
        {
            if (!ReferenceEquals(_violation, value))
            {
                _violation = value;
                _evaluator?.Refresh(_position);
            }
        }
    }

    /// <summary>True when the evaluator must look at this instance even on a healthy reading: a breach is being timed or a violation is open.</summary>
    public bool IsActive => _breaching || _violation is not null;

    public void ResetBreach()
    {
        Breaching = false;
        Gap = false;
        Accumulated = TimeSpan.Zero;
    }

    /// <summary>
    /// Called by the <see cref="RuleEvaluator"/> that now evaluates this instance (at <paramref name="position"/> in its
    /// arrays): from here on, state changes are reported to it. On a reload the new evaluator adopts the carried instances.
    /// </summary>
    internal void AttachTo(RuleEvaluator evaluator, int position)
    {
        if (_evaluator is not null && !ReferenceEquals(_evaluator, evaluator))
        {
            _evaluator.MarkStale(); // it may be evaluated again (a reload that failed after compiling): it re-adopts first
        }

        _evaluator = evaluator;
        _position = position;
    }
}
