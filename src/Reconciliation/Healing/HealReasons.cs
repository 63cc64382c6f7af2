using System.Globalization;

namespace Reconciliation;

/// <summary>The words the report, the logs and the events use for each <see cref="HealReason"/>: one place, so they agree.</summary>
internal static class HealReasons
{
    /// <summary>Formats a reason. Times are UTC, ISO 8601 to the second, like every other time the library prints.</summary>
    public static string Describe(HealReason reason, string? healer, string resource, DateTimeOffset? until) => reason switch
    {
        HealReason.Exhausted => "no healer is left to try; the violation stays open until the signal clears",
        HealReason.Verifying => "verifying the last heal",
        HealReason.NoHealers => "the rule has no healers (report only)",
        HealReason.WarmingUp => $"warm-up: no heals before {Format(until)} and before a first full tick",
        HealReason.Backoff => $"cooldown/backoff until {Format(until)}",
        HealReason.HealRunning => $"a heal of {resource} is still running",
        HealReason.CoolingDown => $"{healer} is cooling down on {resource}",
        HealReason.BudgetSpent => $"heal budget spent: healing paused until {Format(until)}",
        HealReason.DeadlineReached => "the tick's deadline for healing was reached (the heal journal or lease is slow); tried again next tick",
        HealReason.NotRegistered => $"no registered healer '{healer}' applies to resource '{resource}'",
        HealReason.NotOptedIn => $"'{healer}' is destructive and not opted in (add it to AllowDestructive)",
        HealReason.AttemptsUsedUp => $"'{healer}' used up its attempts on {resource}",
        HealReason.KeepsSkipping => $"'{healer}' answered \"skipped\" {HealingDefaults.SkipsBeforeEscalation} times in a row while the violation stayed open",
        HealReason.AllHealersUsedUp => "every healer's attempts are used up",
        HealReason.NoHealerCouldAct => $"no healer could act (none applies to the resource, each is destructive and not opted in, each had spent its attempts within its Window, or each answered \"skipped\" {HealingDefaults.SkipsBeforeEscalation} times in a row); 0 attempts were made",
        _ => string.Empty,
    };

    /// <summary>The one time format of the report, events and status: <c>2026-01-01T00:00:10Z</c>.</summary>
    public static string Format(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";
}
