using Microsoft.Extensions.Configuration;

namespace Reconciliation;

/// <summary>
/// Binds <see cref="ReconciliationOptions"/> from configuration without ever throwing, and without losing a bad entry.
/// The configuration binder silently drops a dictionary entry that fails to bind: a rule with <c>"Above": "lots"</c>
/// would simply vanish, and nobody would know the rule is not running. Errors are kept on the options instead, so the
/// validator fails start with the key named, and a reload is rejected without an exception escaping
/// <c>IConfigurationRoot.Reload()</c> through <c>IOptionsMonitor</c>.
/// </summary>
internal static class ReconciliationConfigurationBinder
{
    private const string RulesKey = "Rules";
    private const string HealersKey = "Healers";

    public static void Bind(IConfiguration configuration, ReconciliationOptions options)
    {
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // A value outside the dictionaries (Interval, HealBudget:MaxHeals) that does not convert: the message names its key.
            options.BindErrors.Add(e.Message);
            return;
        }

        foreach (var rule in configuration.GetSection(RulesKey).GetChildren())
        {
            if (!options.Rules.TryGetValue(rule.Key, out var bound))
            {
                options.BindErrors.Add(WhyNotBound<RuleOptions>(rule));
                continue;
            }

            CheckPolicies(rule.GetSection(HealersKey), bound.Healers, options.BindErrors);
        }

        CheckPolicies(configuration.GetSection(HealersKey), options.Healers, options.BindErrors);
        CheckEntries(configuration.GetSection("Silences"), options.Silences, options.BindErrors);
        CheckEntries(configuration.GetSection("MaintenanceWindows"), options.MaintenanceWindows, options.BindErrors);
    }

    private static void CheckEntries<T>(IConfigurationSection section, IDictionary<string, T> bound, List<string> errors)
        where T : class, new()
    {
        foreach (var entry in section.GetChildren())
        {
            if (!bound.ContainsKey(entry.Key))
            {
                errors.Add(WhyNotBound<T>(entry));
            }
        }
    }

    private static void CheckPolicies(IConfigurationSection section, IDictionary<string, HealPolicyOptions> bound, List<string> errors)
    {
        foreach (var policy in section.GetChildren())
        {
            if (!bound.ContainsKey(policy.Key))
            {
                errors.Add(WhyNotBound<HealPolicyOptions>(policy));
            }
        }
    }

    /// <summary>Binds the dropped entry alone to learn why: the binder's message names the full key.</summary>
    private static string WhyNotBound<T>(IConfigurationSection section)
        where T : class, new()
    {
        try
        {
            _ = section.Get<T>();
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }

        return $"{section.Path} could not be bound.";
    }
}
