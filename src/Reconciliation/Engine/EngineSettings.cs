namespace Reconciliation;

/// <summary>The configuration in force, compiled: the options, the rules and their evaluator over the signal table.</summary>
internal sealed class EngineSettings
{
    private EngineSettings(ReconciliationOptions options, List<CompiledRule> rules, RuleEvaluator evaluator)
    {
        Options = options;
        Rules = rules;
        Evaluator = evaluator;
        AllowDestructive = new HashSet<string>(options.AllowDestructive, StringComparer.Ordinal);
    }

    public ReconciliationOptions Options { get; }

    public List<CompiledRule> Rules { get; }

    public RuleEvaluator Evaluator { get; }

    public HashSet<string> AllowDestructive { get; }

    /// <summary>Compiles the enabled rules; with <paramref name="previous"/>, carries over the instances (breach timers, violations) of rules that stay.</summary>
    public static EngineSettings Compile(ReconciliationOptions options, SignalTable table, RuleInstance[]? previous)
    {
        var rules = new List<CompiledRule>();
        foreach (var (name, rule) in options.Rules)
        {
            if (rule.Enabled)
            {
                rules.Add(new CompiledRule(name, rule, options));
            }
        }

        return new EngineSettings(options, rules, new RuleEvaluator(RuleEvaluator.Build(rules, table, previous)));
    }
}
