using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>
/// The fleet's heal journal on Redis: one capped stream (<c>XADD MAXLEN ~</c>, about
/// <see cref="RedisCoordinationOptions.JournalMaxLength"/> records) that every replica appends to through a Lua script.
/// The script stores a record once per <see cref="HealRecord.Id"/> (a replayed write is not counted twice) and refuses a
/// record whose <see cref="HealRecord.LeaseToken"/> a later lease holder of the same resource superseded
/// (<see cref="HealLeaseLostException"/>). Counts read the newest records of the stream. A write that cannot reach the
/// server throws; the engine queues it and writes it again later.
/// </summary>
public sealed class RedisHealJournal : IHealJournal
{
    private const string TicksFormat = "D19";
    private readonly RedisCoordinationStore _store;

    /// <summary>Creates the journal on <paramref name="connection"/> (not disposed by it).</summary>
    /// <param name="connection">The Redis connection.</param>
    /// <param name="options">The key prefix, the stream's cap and the database.</param>
    public RedisHealJournal(IConnectionMultiplexer connection, RedisCoordinationOptions options)
        : this(RedisCoordinationStore.ForConnection(Checked(connection), options))
    {
    }

    internal RedisHealJournal(RedisCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public async ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var token = record.LeaseToken is { } t ? t.ToString(CultureInfo.InvariantCulture) : string.Empty;
        RedisValue[] arguments =
        [
            record.Id.ToString("N"), token, _store.Options.JournalMaxLength,
            "id", record.Id.ToString("N"),
            "healer", record.Healer,
            "resource", record.Resource,
            "rule", record.Rule,
            "started", Ticks(record.StartedAt),
            "outcome", record.Outcome.ToString(),
            "reason", record.Reason ?? string.Empty,
            "hasreason", record.Reason is null ? "0" : "1",
            "verdict", record.IsVerdict ? "1" : "0",
            "attempt", record.IsAttempt ? "1" : "0",
            "replica", record.Replica ?? string.Empty,
            "token", token,
        ];
        var reply = await _store.RunAsync("the journal record script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.Record,
            [_store.JournalKey, _store.JournalIdsKey, _store.FenceKey(record.Resource)], arguments), cancellationToken).ConfigureAwait(false);
        if ((long)reply == RedisCoordinationScripts.Fenced)
        {
            throw new HealLeaseLostException(string.Create(CultureInfo.InvariantCulture,
                $"the heal of {record.Healer} on {record.Resource} held lease token {record.LeaseToken}, which a later holder superseded; its record was refused"));
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(healer);
        ArgumentNullException.ThrowIfNull(resource);
        var reply = await AttemptsAsync(healer, resource, replica, since, "count", cancellationToken).ConfigureAwait(false);
        return (int)reply;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(healer);
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var reply = await AttemptsAsync(healer, string.Empty, replica, since, "times", cancellationToken).ConfigureAwait(false);
        var times = new List<DateTimeOffset>();
        foreach (var value in (RedisValue[])reply!)
        {
            times.Add(FromTicks(value));
        }

        // The stream is in write order; a replayed or late record may be older than the ones before it.
        times.Sort(static (a, b) => b.CompareTo(a));
        return times.Count > max ? times.GetRange(0, max) : times;
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var reply = await AttemptsAsync(string.Empty, string.Empty, null, since, "count", cancellationToken).ConfigureAwait(false);
        return (int)reply;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0)
        {
            return [];
        }

        var entries = await _store.RunAsync("XREVRANGE on the journal", db => db.StreamRangeAsync(_store.JournalKey, count: Math.Min(max, _store.Options.JournalMaxLength),
            messageOrder: Order.Descending), cancellationToken).ConfigureAwait(false);
        var records = new List<HealRecord>(entries.Length);
        foreach (var entry in entries)
        {
            if (Parse(entry) is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    private Task<RedisResult> AttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, string mode, CancellationToken cancellationToken) =>
        _store.RunAsync("the journal count script", db => db.ScriptEvaluateAsync(RedisCoordinationScripts.Attempts, [_store.JournalKey],
            [_store.Options.JournalMaxLength, Ticks(since), healer, resource, replica ?? string.Empty, mode]), cancellationToken);

    private static HealRecord? Parse(StreamEntry entry)
    {
        string Field(string name) => entry[name].IsNull ? string.Empty : entry[name].ToString();

        if (!Enum.TryParse<HealOutcomeKind>(Field("outcome"), out var outcome) || !Guid.TryParseExact(Field("id"), "N", out var id))
        {
            return null; // not a record this journal wrote
        }

        var replica = Field("replica");
        var token = Field("token");
        return new HealRecord(Field("healer"), Field("resource"), Field("rule"), FromTicks(Field("started")), outcome,
            Field("hasreason") == "1" ? Field("reason") : null)
        {
            Id = id,
            IsVerdict = Field("verdict") == "1",
            Replica = replica.Length == 0 ? null : replica,
            LeaseToken = token.Length == 0 ? null : long.Parse(token, CultureInfo.InvariantCulture),
        };
    }

    private static string Ticks(DateTimeOffset time) => time.UtcTicks.ToString(TicksFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset FromTicks(RedisValue ticks) => new(long.Parse((string)ticks!, CultureInfo.InvariantCulture), TimeSpan.Zero);

    private static IConnectionMultiplexer Checked(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection;
    }
}
