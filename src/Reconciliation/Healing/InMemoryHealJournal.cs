
namespace Reconciliation;

/// <summary>
/// The default journal, in this process's memory (so every count is per replica, and forgotten on restart). It keeps
/// every record of the last <see cref="Retention"/> (the longest attempt or budget window the options allow), so a
/// window is never undercounted; older records are dropped.
/// </summary>
public sealed class InMemoryHealJournal : IHealJournal, INeverBlocks
{
    /// <summary>How long records are kept, counted back from the newest one: 7 days.</summary>
    public static readonly TimeSpan Retention = HealingDefaults.MaxWindow;

    private readonly LinkedList<HealRecord> _records = new();
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            _records.AddFirst(record);
            var horizon = record.StartedAt - Retention;
            while (_records.Last is { } oldest && oldest.Value.StartedAt < horizon)
            {
                _records.RemoveLast();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var count = 0;
        lock (_gate)
        {
            foreach (var record in _records)
            {
                if (record.IsAttempt && record.StartedAt >= since && string.Equals(record.Healer, healer, StringComparison.Ordinal)
                    && string.Equals(record.Resource, resource, StringComparison.Ordinal)
                    && (replica is null || string.Equals(record.Replica, replica, StringComparison.Ordinal)))
                {
                    count++;
                }
            }
        }

        return ValueTask.FromResult(count);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken)
    {
        var times = new List<DateTimeOffset>();
        lock (_gate)
        {
            foreach (var record in _records)
            {
                if (times.Count < max && record.IsAttempt && record.StartedAt >= since && string.Equals(record.Healer, healer, StringComparison.Ordinal)
                    && (replica is null || string.Equals(record.Replica, replica, StringComparison.Ordinal)))
                {
                    times.Add(record.StartedAt);
                }
            }
        }

        times.Sort((a, b) => b.CompareTo(a));
        return ValueTask.FromResult<IReadOnlyList<DateTimeOffset>>(times);
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
