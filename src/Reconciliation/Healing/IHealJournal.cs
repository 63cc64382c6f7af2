namespace Reconciliation;

/// <summary>
/// The attempt history the heal policy counts against (attempts per window, the global budget, the status page's history).
/// In memory by default (per replica, forgotten on restart); the PostgreSQL and Redis coordination stores keep one
/// journal for the fleet, and any other implementation plugs in through <c>builder.UseHealJournal&lt;T&gt;()</c>.
/// A shared journal refuses a record whose <see cref="HealRecord.LeaseToken"/> a later lease holder of the same resource
/// superseded, by throwing <see cref="HealLeaseLostException"/>.
/// </summary>
public interface IHealJournal
{
    /// <summary>Records an attempt (or the later verdict on one).</summary>
    ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// Attempts of <paramref name="healer"/> on <paramref name="resource"/> started at or after <paramref name="since"/>
    /// (dry-runs and skips excluded), by <paramref name="replica"/> only, or by any replica when it is <see langword="null"/>
    /// (the engine asks per replica for process-scoped healers and per fleet for shared-resource ones).
    /// </summary>
    ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>
    /// The start times of the attempts of <paramref name="healer"/> on any resource started at or after
    /// <paramref name="since"/>, newest first, at most <paramref name="max"/>; by <paramref name="replica"/> only, or by
    /// any replica when it is <see langword="null"/> (<c>app.restart</c>'s crash-loop breaker and fleet guard read it).
    /// </summary>
    ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken);

    /// <summary>Attempts of any healer on any resource started at or after <paramref name="since"/> (dry-runs and skips excluded).</summary>
    ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The most recent records, newest first, at most <paramref name="max"/>.</summary>
    ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken);
}
