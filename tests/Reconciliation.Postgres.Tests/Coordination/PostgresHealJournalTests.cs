using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>The shared heal journal on a real server: one record per id, fenced writes refused, counts per replica and per fleet.</summary>
public sealed class PostgresHealJournalTests
{
    // Within the retention on the server's clock (the journal deletes older records after a process's first write),
    // in whole seconds so a stored time compares equal.
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().AddHours(-1).ToUnixTimeSeconds());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HealRecord Attempt(string healer, string resource, DateTimeOffset startedAt, string replica, HealOutcomeKind outcome = HealOutcomeKind.Healed,
        long? token = null) =>
        new(healer, resource, "rule", startedAt, outcome, outcome == HealOutcomeKind.Failed ? "it failed" : null)
        {
            Id = Guid.NewGuid(),
            Replica = replica,
            LeaseToken = token,
        };

    [Fact]
    public async Task A_record_written_twice_is_stored_once_and_counted_once()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(A_record_written_twice_is_stored_once_and_counted_once));
        var record = Attempt("postgres.clear-pool", "db", T0, "replica-a");

        await store.Journal.RecordAsync(record, Ct);
        await store.Journal.RecordAsync(record, Ct);
        await store.Journal.RecordAsync(record with { Reason = "a replay never rewrites" }, Ct);

        Assert.Equal(1L, await store.ScalarAsync<long>("SELECT count(*) FROM reconciliation.heal_journal"));
        Assert.Equal(1, await store.Journal.CountAttemptsAsync("postgres.clear-pool", "db", null, T0, Ct));
        var stored = Assert.Single(await store.Journal.RecentAsync(10, Ct));
        Assert.Equal(record, stored);
    }

    [Fact]
    public async Task Counts_are_per_replica_when_one_is_named_and_per_fleet_otherwise_and_leave_out_verdicts_skips_and_dry_runs()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(Counts_are_per_replica_when_one_is_named_and_per_fleet_otherwise_and_leave_out_verdicts_skips_and_dry_runs));
        var other = CoordinationTestStore.Over(store.ConnectionString);
        await using var otherScope = other;
        await store.Journal.RecordAsync(Attempt("fix", "db", T0, "replica-a"), Ct);
        await store.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(1), "replica-a", HealOutcomeKind.Failed), Ct);
        await other.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(2), "replica-b"), Ct);
        await other.Journal.RecordAsync(Attempt("fix", "cache", T0.AddMinutes(2), "replica-b"), Ct);
        await other.Journal.RecordAsync(Attempt("other", "db", T0.AddMinutes(2), "replica-b"), Ct);
        await store.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(3), "replica-a", HealOutcomeKind.Skipped), Ct);
        await store.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(3), "replica-a", HealOutcomeKind.DryRun), Ct);
        await store.Journal.RecordAsync(Attempt("fix", "db", T0, "replica-a") with { IsVerdict = true }, Ct);
        await store.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(-10), "replica-a"), Ct); // before the window

        Assert.Equal(3, await store.Journal.CountAttemptsAsync("fix", "db", null, T0, Ct));
        Assert.Equal(3, await other.Journal.CountAttemptsAsync("fix", "db", null, T0, Ct));
        Assert.Equal(2, await store.Journal.CountAttemptsAsync("fix", "db", "replica-a", T0, Ct));
        Assert.Equal(1, await store.Journal.CountAttemptsAsync("fix", "db", "replica-b", T0, Ct));
        Assert.Equal(0, await store.Journal.CountAttemptsAsync("fix", "db", "replica-c", T0, Ct));
        Assert.Equal(1, await store.Journal.CountAttemptsAsync("fix", "db", null, T0.AddMinutes(2), Ct));
        Assert.Equal(5, await store.Journal.CountAllAttemptsAsync(T0, Ct));
        Assert.Equal(6, await store.Journal.CountAllAttemptsAsync(T0.AddHours(-1), Ct));
        Assert.Equal(9, (await store.Journal.RecentAsync(100, Ct)).Count);
    }

    [Fact]
    public async Task Attempt_times_come_newest_first_across_resources_capped_at_max_per_replica_or_fleet()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(Attempt_times_come_newest_first_across_resources_capped_at_max_per_replica_or_fleet));
        var times = Enumerable.Range(0, 6).Select(i => T0.AddMinutes(i)).ToArray();
        foreach (var (time, i) in times.Select((t, i) => (t, i)).Reverse())
        {
            await store.Journal.RecordAsync(Attempt("app.restart", i % 2 == 0 ? "app" : "app-2", time, i < 3 ? "replica-a" : "replica-b"), Ct);
        }

        await store.Journal.RecordAsync(Attempt("app.restart", "app", T0.AddMinutes(9), "replica-a", HealOutcomeKind.Skipped), Ct);
        await store.Journal.RecordAsync(Attempt("app.restart", "app", T0.AddMinutes(-5), "replica-a"), Ct);

        Assert.Equal([times[5], times[4], times[3], times[2], times[1], times[0]], await store.Journal.AttemptTimesAsync("app.restart", null, T0, 10, Ct));
        Assert.Equal([times[5], times[4]], await store.Journal.AttemptTimesAsync("app.restart", null, T0, 2, Ct));
        Assert.Equal([times[2], times[1], times[0]], await store.Journal.AttemptTimesAsync("app.restart", "replica-a", T0, 10, Ct));
        Assert.Empty(await store.Journal.AttemptTimesAsync("other", null, T0, 10, Ct));
    }

    [Fact]
    public async Task A_record_whose_lease_token_a_newer_holder_superseded_is_refused_and_not_stored()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(A_record_whose_lease_token_a_newer_holder_superseded_is_refused_and_not_stored));
        var old = await store.LeaseFor("replica-a").TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(old);
        var landed = Attempt("fix", "db", T0, "replica-a", token: old.FencingToken);
        await store.Journal.RecordAsync(landed, Ct); // written while it held the lease
        await old.DisposeAsync();
        await using var newer = await store.LeaseFor("replica-b").TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(newer);

        var late = Attempt("fix", "db", T0.AddMinutes(1), "replica-a", token: old.FencingToken) with { IsVerdict = true };
        await Assert.ThrowsAsync<HealLeaseLostException>(() => store.Journal.RecordAsync(late, Ct).AsTask());
        Assert.Equal(0L, await store.ScalarAsync<long>("SELECT count(*) FROM reconciliation.heal_journal WHERE id = @id", ("id", late.Id)));

        // A replay of the write that landed before the newer holder came is not a lost lease: it is already there.
        await store.Journal.RecordAsync(landed, Ct);

        // The newer holder's records, and records of other resources or without a lease, go in.
        await store.Journal.RecordAsync(Attempt("fix", "db", T0.AddMinutes(2), "replica-b", token: newer.FencingToken), Ct);
        await store.Journal.RecordAsync(Attempt("fix", "cache", T0.AddMinutes(2), "replica-a", token: old.FencingToken), Ct);
        await store.Journal.RecordAsync(Attempt("restart", "app", T0.AddMinutes(2), "replica-a"), Ct);
        Assert.Equal([newer.FencingToken, old.FencingToken], (await store.Journal.RecentAsync(10, Ct)).Where(r => r.Resource == "db").Select(r => r.LeaseToken!.Value).Distinct());
        Assert.Equal(4L, await store.ScalarAsync<long>("SELECT count(*) FROM reconciliation.heal_journal"));
    }

    [Fact]
    public async Task Retention_deletes_only_records_older_than_JournalRetention_in_bounded_batches()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(Retention_deletes_only_records_older_than_JournalRetention_in_bounded_batches),
            o => o.JournalRetention = TimeSpan.FromDays(10));
        await store.Store.MigrateAsync(Ct);

        // Written behind the journal's back (its own first write would start a background run). What counts is when a
        // record was written (recorded_at, the server's clock), not when its heal started.
        await store.ScalarAsync<int>("""
            WITH w AS (
                INSERT INTO reconciliation.heal_journal (id, healer, resource, rule, outcome, started_at, recorded_at)
                SELECT gen_random_uuid(), 'fix', 'db', 'r', 'Healed', now(), now() - interval '11 days' FROM generate_series(1, 5001)
                UNION ALL SELECT @kept, 'fix', 'db', 'r', 'Healed', now() - interval '30 days', now() - interval '9 days'
                RETURNING 1)
            SELECT count(*)::int FROM w
            """, ("kept", KeptId));

        Assert.Equal(5000, await store.Journal.PruneAsync(Ct));
        Assert.Equal(1, await store.Journal.PruneAsync(Ct));
        Assert.Equal(0, await store.Journal.PruneAsync(Ct));
        Assert.Equal([KeptId], (await store.Journal.RecentAsync(10, Ct)).Select(r => r.Id));
    }

    [Fact]
    public async Task A_process_deletes_old_records_after_its_first_write_without_the_write_waiting_for_it()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(A_process_deletes_old_records_after_its_first_write_without_the_write_waiting_for_it));
        await store.Store.MigrateAsync(Ct);
        await store.ScalarAsync<int>("""
            INSERT INTO reconciliation.heal_journal (id, healer, resource, rule, outcome, started_at, recorded_at)
            VALUES (gen_random_uuid(), 'fix', 'db', 'r', 'Healed', now() - interval '8 days', now() - interval '8 days') RETURNING 1
            """);

        // Started long ago on its replica's clock (a wrong clock, or a fake one), but written now: kept.
        var fresh = Attempt("fix", "db", new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), "replica-a");
        await store.Journal.RecordAsync(fresh, Ct);

        Assert.True(await Eventually.HoldsAsync(async () => await store.ScalarAsync<long>("SELECT count(*) FROM reconciliation.heal_journal") == 1),
            "the record written longer ago than the default retention of 7 days was deleted");
        Assert.Equal([fresh.Id], (await store.Journal.RecentAsync(10, Ct)).Select(r => r.Id));
    }

    private static readonly Guid KeptId = Guid.NewGuid();
}
