namespace Reconciliation;

/// <summary>A heal policy with every value resolved: rule override, then healer policy, then defaults.</summary>
internal sealed record HealPolicy(
    TimeSpan Cooldown, int MaxAttempts, TimeSpan Window, double BackoffMultiplier, TimeSpan MaxBackoff,
    TimeSpan Timeout, TimeSpan VerifyWithin, bool DryRun, int? MaxTargets)
{
    public static HealPolicy Resolve(HealPolicyOptions? rule, HealPolicyOptions? healer, ReconciliationOptions global) => new(
        rule?.Cooldown ?? healer?.Cooldown ?? HealPolicyDefaults.Cooldown,
        rule?.MaxAttempts ?? healer?.MaxAttempts ?? HealPolicyDefaults.MaxAttempts,
        rule?.Window ?? healer?.Window ?? HealPolicyDefaults.Window,
        rule?.BackoffMultiplier ?? healer?.BackoffMultiplier ?? HealPolicyDefaults.BackoffMultiplier,
        rule?.MaxBackoff ?? healer?.MaxBackoff ?? HealPolicyDefaults.MaxBackoff,
        rule?.Timeout ?? healer?.Timeout ?? HealPolicyDefaults.Timeout,
        rule?.VerifyWithin ?? healer?.VerifyWithin ?? global.Interval,
        global.DryRun || (rule?.DryRun ?? healer?.DryRun ?? false),
        rule?.MaxTargets ?? healer?.MaxTargets);

    /// <summary>The wait before the next attempt after <paramref name="consecutiveFailures"/> failures in a row (at least the cooldown).</summary>
    public TimeSpan Backoff(int consecutiveFailures)
    {
        if (consecutiveFailures <= 1)
        {
            return Cooldown;
        }

        var factor = Math.Pow(BackoffMultiplier, consecutiveFailures - 1);
        var ticks = Cooldown.Ticks * factor;
        return ticks >= MaxBackoff.Ticks ? (MaxBackoff > Cooldown ? MaxBackoff : Cooldown) : TimeSpan.FromTicks((long)ticks);
    }
}
