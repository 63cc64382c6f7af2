using System.Globalization;
using Microsoft.Extensions.Options;

namespace Reconciliation;

/// <summary>
/// Validates <see cref="ReconciliationOptions"/> against the registered probes and healers, at start and on every
/// reload. Every message names the full configuration key (<c>Reconciliation:Rules:pool-saturation:Clear</c>).
/// </summary>
internal sealed class ReconciliationOptionsValidator : IValidateOptions<ReconciliationOptions>
{
    private readonly IProbe[] _probes;
    private readonly IHealer[] _healers;

    public ReconciliationOptionsValidator(IEnumerable<IProbe> probes, IEnumerable<IHealer> healers)
    {
        _probes = probes.ToArray();
        _healers = healers.ToArray();
    }

    /// <summary>
    /// Set by the engine once it runs on a valid configuration. From then on every reload is the engine's to judge (it
    /// rejects an invalid one and keeps the previous configuration); failing here as well would make the framework's
    /// IOptionsMonitor (created by ValidateOnStart) throw out of <c>IConfigurationRoot.Reload()</c> in the host.
    /// </summary>
    internal bool EngineValidatesReloads { get; set; }

    public ValidateOptionsResult Validate(string? name, ReconciliationOptions options)
    {
        if (EngineValidatesReloads)
        {
            return ValidateOptionsResult.Skip;
        }

        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal List<string> Collect(ReconciliationOptions options)
    {
        var errors = new List<string>(options.BindErrors);
        var root = options.ConfigurationPath;

        Positive(errors, $"{root}:Interval", options.Interval, HealingDefaults.MaxTimeout);
        Positive(errors, $"{root}:ProbeTimeout", options.ProbeTimeout, HealingDefaults.MaxTimeout);
        Positive(errors, $"{root}:CallTimeout", options.CallTimeout, HealingDefaults.MaxTimeout);
        NotNegative(errors, $"{root}:WarmUp", options.WarmUp, HealingDefaults.MaxPolicyDuration);
        if (options.HealBudget is { } budget)
        {
            Count(errors, $"{root}:HealBudget:MaxHeals", budget.MaxHeals);
            Positive(errors, $"{root}:HealBudget:Window", budget.Window, HealingDefaults.MaxWindow);
            Positive(errors, $"{root}:HealBudget:Pause", budget.Pause, HealingDefaults.MaxPolicyDuration);
        }

        if (string.IsNullOrWhiteSpace(options.ReplicaId) || options.ReplicaId.Length > 200 || options.ReplicaId.Any(char.IsControl))
        {
            errors.Add($"{root}:ReplicaId must be a name of 1 to 200 printable characters (default: the machine name).");
        }

        var restart = options.AppRestart;
        Count(errors, $"{root}:AppRestart:MaxFleetRestarts", restart.MaxFleetRestarts);
        Positive(errors, $"{root}:AppRestart:FleetWindow", restart.FleetWindow, HealingDefaults.MaxWindow);
        Count(errors, $"{root}:AppRestart:CrashLoopRestarts", restart.CrashLoopRestarts);
        Positive(errors, $"{root}:AppRestart:CrashLoopWindow", restart.CrashLoopWindow, HealingDefaults.MaxWindow);
        Positive(errors, $"{root}:AppRestart:CrashLoopPause", restart.CrashLoopPause, HealingDefaults.MaxPolicyDuration);

        var healerNames = new HashSet<string>(_healers.Select(h => h.Name), StringComparer.Ordinal);
        for (var i = 0; i < options.AllowDestructive.Count; i++)
        {
            if (!healerNames.Contains(options.AllowDestructive[i]))
            {
                errors.Add($"{root}:AllowDestructive:{i} names '{options.AllowDestructive[i]}', which is not a registered healer.{KnownHealers()}");
            }
        }

        foreach (var (healer, policy) in options.Healers)
        {
            if (!healerNames.Contains(healer))
            {
                errors.Add($"{root}:Healers:{healer} configures a healer that is not registered.{KnownHealers()}");
            }

            ValidatePolicy(errors, $"{root}:Healers:{healer}", policy);
        }

        foreach (var (ruleName, rule) in options.Rules)
        {
            ValidateRule(errors, $"{root}:Rules:{ruleName}", rule, healerNames);
            ValidateRuleControls(errors, $"{root}:Rules:{ruleName}", ruleName, rule, options);
        }

        ValidateControls(errors, root, options);
        return errors;
    }

    private static void ValidateControls(List<string> errors, string root, ReconciliationOptions options)
    {
        Positive(errors, $"{root}:ProposalExpiry", options.ProposalExpiry, HealingDefaults.MaxPolicyDuration);
        NotNegative(errors, $"{root}:SilenceExpiryNotice", options.SilenceExpiryNotice, HealingDefaults.MaxPolicyDuration);
        ValidateFlapping(errors, $"{root}:Flapping", options.Flapping);
        foreach (var (id, silence) in options.Silences)
        {
            var key = $"{root}:Silences:{id}";
            if (silence is null)
            {
                errors.Add($"{key} is empty.");
                continue;
            }

            if (silence.Rule is null && silence.Resource is null && silence.Healer is null)
            {
                errors.Add($"{key}: set Rule, Resource or Healer (to hold every heal, pause healing instead).");
            }

            if (silence.EndsAt is null)
            {
                errors.Add($"{key}:EndsAt is required: a silence ends by itself.");
            }
            else if (silence.StartsAt is { } start && start >= silence.EndsAt)
            {
                errors.Add($"{key}:EndsAt must be after {key}:StartsAt.");
            }

            if (string.IsNullOrWhiteSpace(silence.Owner))
            {
                errors.Add($"{key}:Owner is required (who set it, someone to ask).");
            }

            if (string.IsNullOrWhiteSpace(silence.Reason))
            {
                errors.Add($"{key}:Reason is required.");
            }
        }

        foreach (var (name, window) in options.MaintenanceWindows)
        {
            if (window is null)
            {
                errors.Add($"{root}:MaintenanceWindows:{name} is empty.");
                continue;
            }

            MaintenanceWindow.Compile(name, window, $"{root}:MaintenanceWindows:{name}", errors);
        }
    }

    private static void ValidateRuleControls(List<string> errors, string key, string ruleName, RuleOptions rule, ReconciliationOptions options)
    {
        if (rule is null)
        {
            return;
        }

        for (var i = 0; i < rule.InhibitedBy.Count; i++)
        {
            var inhibitor = rule.InhibitedBy[i];
            if (string.Equals(inhibitor, ruleName, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key}:InhibitedBy:{i} names the rule itself.");
            }
            else if (!options.Rules.ContainsKey(inhibitor))
            {
                errors.Add($"{key}:InhibitedBy:{i} names '{inhibitor}', which is not a rule. Rules: {string.Join(", ", options.Rules.Keys.Order(StringComparer.Ordinal))}.");
            }
        }

        if (rule.InhibitAfterClose is { } inhibitAfterClose)
        {
            NotNegative(errors, $"{key}:InhibitAfterClose", inhibitAfterClose, HealingDefaults.MaxPolicyDuration);
        }

        if (rule.KeepFor is { } keepFor)
        {
            NotNegative(errors, $"{key}:KeepFor", keepFor, HealingDefaults.MaxPolicyDuration);
        }

        if (rule.Flapping is { } flapping)
        {
            ValidateFlapping(errors, $"{key}:Flapping", flapping);
        }
    }

    private static void ValidateFlapping(List<string> errors, string key, FlappingOptions flapping)
    {
        if (flapping.MaxOpens is < 0 or > 1000)
        {
            errors.Add($"{key}:MaxOpens must be 0 (off) to 1000, got {flapping.MaxOpens}.");
        }

        if (flapping.Window is { } window)
        {
            Positive(errors, $"{key}:Window", window, HealingDefaults.MaxWindow);
        }

        if (flapping.MuteFor is { } muteFor)
        {
            Positive(errors, $"{key}:MuteFor", muteFor, HealingDefaults.MaxPolicyDuration);
        }
    }

    private void ValidateRule(List<string> errors, string key, RuleOptions rule, HashSet<string> healerNames)
    {
        if (rule is null)
        {
            errors.Add($"{key} is empty.");
            return;
        }

        if (string.IsNullOrWhiteSpace(rule.Signal))
        {
            errors.Add($"{key}:Signal is required (the signal the rule watches, e.g. postgres.pool.usage).");
        }
        else if (rule.Enabled)
        {
            var emitters = EmittersOf(rule.Signal);
            if (emitters.Count == 0)
            {
                errors.Add($"{key}:Signal '{rule.Signal}' is not emitted by any registered probe.{KnownSignals()}");
            }
            else if (rule.Resource is not null && !emitters.Contains(rule.Resource))
            {
                errors.Add($"{key}:Resource '{rule.Resource}' does not emit '{rule.Signal}'; resources that do: {string.Join(", ", emitters.Order(StringComparer.Ordinal))}.");
            }
        }

        switch (rule.Above, rule.Below)
        {
            case (null, null):
                errors.Add($"{key}: set exactly one of Above and Below (neither is set).");
                break;
            case (not null, not null):
                errors.Add($"{key}: set exactly one of Above and Below (both are set: {key}:Above and {key}:Below).");
                break;
            case (double above, null):
                Finite(errors, $"{key}:Above", above);
                if (rule.Clear is double clearAbove && (!double.IsFinite(clearAbove) || clearAbove > above))
                {
                    errors.Add($"{key}:Clear ({Format(clearAbove)}) must be at or below Above ({Format(above)}): the healthy side of an Above rule is below it.");
                }

                break;
            case (null, double below):
                Finite(errors, $"{key}:Below", below);
                if (rule.Clear is double clearBelow && (!double.IsFinite(clearBelow) || clearBelow < below))
                {
                    errors.Add($"{key}:Clear ({Format(clearBelow)}) must be at or above Below ({Format(below)}): the healthy side of a Below rule is above it.");
                }

                break;
        }

        if (rule.For is TimeSpan duration)
        {
            Positive(errors, $"{key}:For", duration, HealingDefaults.MaxPolicyDuration);
        }

        if (!Enum.IsDefined(rule.Severity))
        {
            errors.Add($"{key}:Severity must be Degraded or Unhealthy.");
        }

        for (var i = 0; i < rule.Heal.Count; i++)
        {
            if (!healerNames.Contains(rule.Heal[i]))
            {
                errors.Add($"{key}:Heal:{i} names '{rule.Heal[i]}', which is not a registered healer.{KnownHealers()}");
            }
        }

        foreach (var (healer, policy) in rule.Healers)
        {
            if (!rule.Heal.Contains(healer, StringComparer.Ordinal))
            {
                errors.Add($"{key}:Healers:{healer} overrides the policy of a healer that is not in {key}:Heal.");
            }

            ValidatePolicy(errors, $"{key}:Healers:{healer}", policy);
        }
    }

    private static void ValidatePolicy(List<string> errors, string key, HealPolicyOptions policy)
    {
        if (policy is null)
        {
            return;
        }

        if (policy.Cooldown is TimeSpan cooldown)
        {
            NotNegative(errors, $"{key}:Cooldown", cooldown, HealingDefaults.MaxPolicyDuration);
        }

        if (policy.MaxAttempts is int attempts)
        {
            Count(errors, $"{key}:MaxAttempts", attempts);
        }

        if (policy.MaxTargets is int targets)
        {
            Count(errors, $"{key}:MaxTargets", targets);
        }

        if (policy.Window is TimeSpan window)
        {
            Positive(errors, $"{key}:Window", window, HealingDefaults.MaxWindow);
        }

        if (policy.BackoffMultiplier is double multiplier && (!double.IsFinite(multiplier) || multiplier < 1 || multiplier > HealingDefaults.MaxBackoffMultiplier))
        {
            errors.Add($"{key}:BackoffMultiplier must be between 1 and {Format(HealingDefaults.MaxBackoffMultiplier)} (was {Format(multiplier)}).");
        }

        if (policy.MaxBackoff is TimeSpan maxBackoff)
        {
            Positive(errors, $"{key}:MaxBackoff", maxBackoff, HealingDefaults.MaxPolicyDuration);
        }

        if (policy.Timeout is TimeSpan timeout)
        {
            Positive(errors, $"{key}:Timeout", timeout, HealingDefaults.MaxTimeout);
        }

        if (policy.VerifyWithin is TimeSpan verify)
        {
            Positive(errors, $"{key}:VerifyWithin", verify, HealingDefaults.MaxPolicyDuration);
        }
    }

    private HashSet<string> EmittersOf(string signal)
    {
        var resources = new HashSet<string>(StringComparer.Ordinal);
        foreach (var probe in _probes)
        {
            // Every probe's resource implicitly emits probe.failed.
            if (string.Equals(signal, SignalNames.ProbeFailed, StringComparison.Ordinal)
                || probe.Signals.Any(s => string.Equals(s.Name, signal, StringComparison.Ordinal)))
            {
                resources.Add(probe.Resource);
            }
        }

        return resources;
    }

    private string KnownHealers()
    {
        var names = _healers.Select(h => h.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return names.Length == 0 ? " No healers are registered." : $" Registered healers: {string.Join(", ", names)}.";
    }

    private string KnownSignals()
    {
        var names = _probes.SelectMany(p => p.Signals).Select(s => s.Name).Append(SignalNames.ProbeFailed)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return _probes.Length == 0
            ? " No probes are registered: add the adapter that emits it (AddPostgres, AddRedis, ...)."
            : $" Signals the registered probes emit: {string.Join(", ", names)}.";
    }

    private static void Positive(List<string> errors, string key, TimeSpan value, TimeSpan max)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration (was {value}).");
        }
        else if (value > max)
        {
            errors.Add($"{key} must be at most {max} (was {value}).");
        }
    }

    private static void NotNegative(List<string> errors, string key, TimeSpan value, TimeSpan max)
    {
        if (value < TimeSpan.Zero)
        {
            errors.Add($"{key} must not be negative (was {value}).");
        }
        else if (value > max)
        {
            errors.Add($"{key} must be at most {max} (was {value}).");
        }
    }

    private static void Count(List<string> errors, string key, int value)
    {
        if (value < 1 || value > HealingDefaults.MaxCount)
        {
            errors.Add($"{key} must be between 1 and {HealingDefaults.MaxCount} (was {value}).");
        }
    }

    private static void Finite(List<string> errors, string key, double value)
    {
        if (!double.IsFinite(value))
        {
            errors.Add($"{key} must be a finite number (was {Format(value)}).");
        }
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
