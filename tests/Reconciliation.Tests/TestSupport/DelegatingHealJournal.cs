namespace Reconciliation.Tests.TestSupport;

/// <summary>A journal of our own contract over the in-memory one, for tests that change how records are written.</summary>
internal abstract class DelegatingHealJournal : IHealJournal
{
    protected InMemoryHealJournal Inner { get; } = new();

    public virtual ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken) => Inner.RecordAsync(record, cancellationToken);

    public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken) =>
        Inner.CountAttemptsAsync(healer, resource, replica, since, cancellationToken);

    public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
        Inner.AttemptTimesAsync(healer, replica, since, max, cancellationToken);

    public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) => Inner.CountAllAttemptsAsync(since, cancellationToken);

    public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) => Inner.RecentAsync(max, cancellationToken);
}
