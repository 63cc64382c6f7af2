namespace Reconciliation;

/// <summary>A heal policy with every value resolved: rule override, then healer policy, then defaults.</summary>
internal sealed record HealPolicy(
    TimeSpan Cooldown, int MaxAttempts, TimeSpan Window, double BackoffMultiplier, TimeSpan MaxBackoff,
    TimeSpan Timeout, TimeSpan VerifyWithin, bool DryRun, int? MaxTargets, TimeSpan Interval)
{
    public static HealPolicy Resolve(HealPolicyOptions? rule, HealPolicyOptions? healer, ReconciliationOptions global) => new(
        rule?.Cooldown ?? healer?.Cooldown ?? HealingDefaults.Cooldown,
        rule?.MaxAttempts ?? healer?.MaxAttempts ?? HealingDefaults.MaxAttempts,
        rule?.Window ?? healer?.Window ?? HealingDefaults.Window,
        rule?.BackoffMultiplier ?? healer?.BackoffMultiplier ?? HealingDefaults.BackoffMultiplier,
        rule?.MaxBackoff ?? healer?.MaxBackoff ?? HealingDefaults.MaxBackoff,
        rule?.Timeout ?? healer?.Timeout ?? HealingDefaults.Timeout,
        rule?.VerifyWithin ?? healer?.VerifyWithin ?? global.Interval,
        global.DryRun || (rule?.DryRun ?? healer?.DryRun ?? false),
        rule?.MaxTargets ?? healer?.MaxTargets,
        global.Interval);

    /// <summary>
    /// The wait before the next attempt after <paramref name="consecutiveFailures"/> failures in a row: the cooldown
    /// times <c>BackoffMultiplier^(failures-1)</c>, capped at <c>MaxBackoff</c> (never below the cooldown). A zero
    /// cooldown backs off from one interval instead, so a failing healer never retries every tick forever.
    /// </summary>
    public TimeSpan Backoff(int consecutiveFailures)
    {
        var step = Cooldown > TimeSpan.Zero ? Cooldown : Interval;
        if (consecutiveFailures <= 1)
        {
            return Cooldown;
        }

        var cap = MaxBackoff > step ? MaxBackoff : step;
        var ticks = step.Ticks * Math.Pow(BackoffMultiplier, consecutiveFailures - 1);
        return ticks >= cap.Ticks || double.IsNaN(ticks) ? cap : TimeSpan.FromTicks((long)ticks);
    }
}
