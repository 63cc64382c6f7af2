namespace Reconciliation;

/// <summary>
/// The attempt history the heal policy counts against (attempts per window, the global budget, the status page's history).
/// In memory by default; a durable, multi-replica implementation plugs in through <c>builder.UseHealJournal&lt;T&gt;()</c>.
/// </summary>
public interface IHealJournal
{
    /// <summary>Records an attempt (or the later verdict on one).</summary>
    ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken);

    /// <summary>Attempts of <paramref name="healer"/> on <paramref name="resource"/> started at or after <paramref name="since"/> (dry-runs and skips excluded).</summary>
    ValueTask<int> CountAttemptsAsync(string healer, string resource, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Attempts of any healer on any resource started at or after <paramref name="since"/> (dry-runs and skips excluded).</summary>
    ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The most recent records, newest first, at most <paramref name="max"/>.</summary>
    ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken);
}
