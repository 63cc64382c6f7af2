
namespace Reconciliation;

/// <summary>The default journal: a bounded in-memory list (the newest <see cref="Capacity"/> records).</summary>
public sealed class InMemoryHealJournal : IHealJournal
{
    /// <summary>How many records are kept.</summary>
    public const int Capacity = 1024;

    private readonly LinkedList<HealRecord> _records = new();
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            _records.AddFirst(record);
            if (_records.Count > Capacity)
            {
                _records.RemoveLast();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<int> CountAttemptsAsync(string healer, string resource, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var count = 0;
        lock (_gate)
        {
            foreach (var record in _records)
            {
                if (record.IsAttempt && record.StartedAt >= since && string.Equals(record.Healer, healer, StringComparison.Ordinal)
                    && string.Equals(record.Resource, resource, StringComparison.Ordinal))
                {
                    count++;
                }
            }
        }

        return ValueTask.FromResult(count);
    }

    /// <inheritdoc />
    public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var count = 0;
        lock (_gate)
        {
            foreach (var record in _records)
            {
                if (record.IsAttempt && record.StartedAt >= since)
                {
                    count++;
                }
            }
        }

        return ValueTask.FromResult(count);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<HealRecord>>(_records.Take(max).ToArray());
        }
    }
}
