using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>The Redis heal journal against a real server: fencing, idempotence, per-replica and fleet counts, the cap.</summary>
public sealed class RedisHealJournalTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromMinutes(1);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_record_with_a_superseded_lease_token_is_refused_with_HealLeaseLostException_and_not_stored()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var journal = new RedisHealJournal(connection, options);
        var time = new FakeTimeProvider();
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", time);

        var first = await a.TryAcquireAsync("db", Duration, Ct);
        var whileHeld = Attempt("fix", "db", "replica-a", T0, token: first!.FencingToken);
        await journal.RecordAsync(whileHeld, Ct); // accepted while its token is the newest
        await first.DisposeAsync();
        await using var second = await b.TryAcquireAsync("db", Duration, Ct);
        var late = Attempt("fix", "db", "replica-a", T0.AddSeconds(1), token: first.FencingToken);
        var current = Attempt("fix", "db", "replica-b", T0.AddSeconds(2), token: second!.FencingToken);

        var refused = await Assert.ThrowsAsync<HealLeaseLostException>(async () => await journal.RecordAsync(late, Ct));
        await journal.RecordAsync(current, Ct);

        Assert.Contains("lease token 1", refused.Message, StringComparison.Ordinal);
        var stored = await journal.RecentAsync(10, Ct);
        Assert.Equal([current.Id, whileHeld.Id], stored.Select(r => r.Id));
        Assert.Equal(2, await journal.CountAttemptsAsync("fix", "db", null, T0, Ct));

        // A record of another resource is fenced by that resource's counter only; one without a token is never fenced.
        await journal.RecordAsync(Attempt("fix", "cache", "replica-a", T0, token: 1), Ct);
        await journal.RecordAsync(Attempt("fix", "db", "replica-a", T0), Ct);
        Assert.Equal(4, (await journal.RecentAsync(10, Ct)).Count);
    }

    [Fact]
    public async Task A_token_above_the_counter_as_after_a_server_lost_its_data_raises_it_so_later_tokens_are_greater()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var journal = new RedisHealJournal(connection, options);
        var lease = new RedisHealLease(connection, options, "replica-a", new FakeTimeProvider());

        // A holder from before the loss writes with token 5; the server's counter (lost) says nothing was issued.
        await journal.RecordAsync(Attempt("fix", "db", "replica-a", T0, token: 5), Ct);
        await using var next = await lease.TryAcquireAsync("db", Duration, Ct);

        Assert.Equal(6, next!.FencingToken);
        await Assert.ThrowsAsync<HealLeaseLostException>(async () => await journal.RecordAsync(Attempt("fix", "db", "replica-a", T0, token: 5), Ct));
    }

    [Fact]
    public async Task A_record_is_stored_once_per_id_however_often_it_is_written()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var journal = new RedisHealJournal(connection, options);
        var record = Attempt("fix", "db", "replica-a", T0, token: 7);

        await journal.RecordAsync(record, Ct);
        await journal.RecordAsync(record, Ct);
        await journal.RecordAsync(record with { }, Ct);

        Assert.Equal(1, await connection.GetDatabase().StreamLengthAsync(options.KeyPrefix + "journal"));
        Assert.Equal(1, await journal.CountAttemptsAsync("fix", "db", null, T0, Ct));
        Assert.Equal(record, Assert.Single(await journal.RecentAsync(10, Ct)));
    }

    [Fact]
    public async Task Records_read_back_with_every_field()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var journal = new RedisHealJournal(connection, Options(redis));
        var attempt = Attempt("fix", "db", "replica-a", T0.AddTicks(1234567), HealOutcomeKind.Failed, token: 3);
        var verdict = new HealRecord("fix", "db", "rule-1", T0.AddTicks(1234567), HealOutcomeKind.Healed, null) { Id = Guid.NewGuid(), IsVerdict = true, Replica = "replica-a", LeaseToken = 3 };
        var skipped = new HealRecord("fix", "db", "rule-1", T0.AddMinutes(1), HealOutcomeKind.Skipped, string.Empty) { Id = Guid.NewGuid() };

        await journal.RecordAsync(attempt, Ct);
        await journal.RecordAsync(verdict, Ct);
        await journal.RecordAsync(skipped, Ct);

        Assert.Equal([skipped, verdict, attempt], await journal.RecentAsync(10, Ct));
        Assert.Equal([skipped, verdict], await journal.RecentAsync(2, Ct));
        Assert.Empty(await journal.RecentAsync(0, Ct));
    }

    [Fact]
    public async Task Counts_are_per_replica_when_one_is_named_and_per_fleet_without()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var journal = new RedisHealJournal(connection, Options(redis));
        HealRecord[] records =
        [
            Attempt("fix", "db", "a", T0),
            Attempt("fix", "db", "a", T0.AddMinutes(1), HealOutcomeKind.Failed),
            Attempt("fix", "db", "b", T0.AddMinutes(2)),
            Attempt("fix", "db", "a", T0.AddMinutes(3), HealOutcomeKind.Skipped),   // not an attempt
            Attempt("fix", "db", "a", T0.AddMinutes(3), HealOutcomeKind.DryRun),    // not an attempt
            Attempt("fix", "db", "a", T0.AddMinutes(4)) with { IsVerdict = true },  // a verdict, not an attempt
            Attempt("fix", "cache", "a", T0.AddMinutes(5)),
            Attempt("other", "db", "a", T0.AddMinutes(6), HealOutcomeKind.Failed),
            Attempt("fix", "db", "a", T0.AddMinutes(-10)),                         // before the window
        ];
        foreach (var record in records)
        {
            await journal.RecordAsync(record, Ct);
        }

        Assert.Equal(2, await journal.CountAttemptsAsync("fix", "db", "a", T0, Ct));
        Assert.Equal(1, await journal.CountAttemptsAsync("fix", "db", "b", T0, Ct));
        Assert.Equal(0, await journal.CountAttemptsAsync("fix", "db", "c", T0, Ct));
        Assert.Equal(3, await journal.CountAttemptsAsync("fix", "db", null, T0, Ct));
        Assert.Equal(4, await journal.CountAttemptsAsync("fix", "db", null, T0.AddMinutes(-10), Ct));
        Assert.Equal(1, await journal.CountAttemptsAsync("fix", "db", null, T0.AddMinutes(2), Ct));
        Assert.Equal(1, await journal.CountAttemptsAsync("fix", "cache", null, T0, Ct));
        Assert.Equal(5, await journal.CountAllAttemptsAsync(T0, Ct));
        Assert.Equal(1, await journal.CountAllAttemptsAsync(T0.AddMinutes(6), Ct));
        Assert.Equal(0, await journal.CountAllAttemptsAsync(T0.AddMinutes(6).AddTicks(1), Ct));
    }

    [Fact]
    public async Task Attempt_times_are_newest_first_by_start_time_at_most_max_per_replica_or_fleet()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var journal = new RedisHealJournal(connection, Options(redis));

        // Written out of order, as a record replayed after an outage would be.
        foreach (var record in new[]
        {
            Attempt("app.restart", "process", "a", T0.AddMinutes(1)),
            Attempt("app.restart", "process", "a", T0.AddMinutes(3), HealOutcomeKind.Failed),
            Attempt("app.restart", "process", "a", T0.AddMinutes(2)),
            Attempt("app.restart", "process", "a", T0.AddMinutes(4)) with { IsVerdict = true },
            Attempt("app.restart", "process", "b", T0.AddMinutes(5)),
            Attempt("app.restart", "process", "a", T0.AddMinutes(-1)),
            Attempt("other", "process", "a", T0.AddMinutes(6)),
        })
        {
            await journal.RecordAsync(record, Ct);
        }

        Assert.Equal([T0.AddMinutes(3), T0.AddMinutes(2), T0.AddMinutes(1)], await journal.AttemptTimesAsync("app.restart", "a", T0, 10, Ct));
        Assert.Equal([T0.AddMinutes(3), T0.AddMinutes(2)], await journal.AttemptTimesAsync("app.restart", "a", T0, 2, Ct));
        Assert.Equal([T0.AddMinutes(5), T0.AddMinutes(3), T0.AddMinutes(2), T0.AddMinutes(1)], await journal.AttemptTimesAsync("app.restart", null, T0, 10, Ct));
        Assert.Empty(await journal.AttemptTimesAsync("app.restart", "c", T0, 10, Ct));
    }

    [Fact]
    public async Task The_stream_stays_capped_near_JournalMaxLength()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis, o => o.JournalMaxLength = 100);
        var journal = new RedisHealJournal(connection, options);

        for (var i = 0; i < 450; i++)
        {
            await journal.RecordAsync(Attempt("fix", "db", "a", T0.AddSeconds(i)), Ct);
        }

        var server = connection.GetDatabase();
        var length = await server.StreamLengthAsync(options.KeyPrefix + "journal");
        Assert.InRange(length, 100, 200); // MAXLEN ~ trims whole nodes (100 entries each by default)
        Assert.InRange(await server.SortedSetLengthAsync(options.KeyPrefix + "journal:ids"), 100, 200);
        Assert.Equal(100, await journal.CountAttemptsAsync("fix", "db", null, T0, Ct)); // counts read the newest JournalMaxLength
        Assert.Equal(T0.AddSeconds(449), (await journal.AttemptTimesAsync("fix", null, T0, 1, Ct))[0]);
    }
}
