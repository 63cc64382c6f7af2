using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>One session holds a lock two others wait on: the probe counts them; the blocker is cancelled only when opted in.</summary>
public sealed class BlockerTests
{
    private const string Rule = "blocked";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_waiters_read_as_blocked_and_the_blocker_is_cancelled_only_when_opted_in(bool optedIn)
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(BlockerTests));
        await using (var setup = new NpgsqlConnection(database))
        {
            await setup.OpenAsync(ct);
            await using var create = new NpgsqlCommand("CREATE TABLE accounts (id int); INSERT INTO accounts VALUES (1), (2)", setup);
            await create.ExecuteNonQueryAsync(ct);
        }

        string As(string application) => new NpgsqlConnectionStringBuilder(database) { ApplicationName = application, Pooling = false }.ConnectionString;
        await using var appDataSource = NpgsqlDataSource.Create(As("blocked-app"));

        // The blocker: one statement that takes the lock and keeps running (its own implicit transaction, so a cancel aborts
        // it and frees the lock; LOCK TABLE outside a transaction block is not allowed, inside DO it is).
        // The blocker is one of the app's own sessions (same application name and role): the healer's scope.
        await using var blocker = new NpgsqlConnection(As("blocked-app"));
        await blocker.OpenAsync(ct);
        await using var blockerCommand = new NpgsqlCommand("DO $$ BEGIN LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; PERFORM pg_sleep(60); END $$", blocker);
        var blockerRun = blockerCommand.ExecuteNonQueryAsync(ct);
        await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(database,
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'accounts' AND l.mode = 'AccessExclusiveLock' AND l.granted") == 1,
            "the blocker holds the lock");

        var waiters = new List<(NpgsqlConnection Connection, Task<object?> Run)>();
        for (var i = 0; i < 2; i++)
        {
            var connection = new NpgsqlConnection(As("waiter"));
            await connection.OpenAsync(ct);
            var command = new NpgsqlCommand("SELECT count(*) FROM accounts", connection);
            waiters.Add((connection, command.ExecuteScalarAsync(ct)));
        }

        await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(database,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'waiter' AND cardinality(pg_blocking_pids(pid)) > 0 AND query_start < now() - interval '1.5 seconds'") == 2,
            "both waiters have been blocked for 1.5 s");

        await using var harness = EngineHarness.Create(b =>
        {
            b.AddPostgres("main-db", appDataSource, o => o.CancelBlockersAfter = TimeSpan.FromSeconds(1))
                .AddRule(Rule, r =>
                {
                    r.Signal = PostgresSignalNames.LocksBlocked;
                    r.Above = 1;
                    r.Clear = 0;
                    r.Heal.Add(PostgresHealerNames.CancelBlockers);
                });
            if (optedIn)
            {
                b.AllowDestructive(PostgresHealerNames.CancelBlockers);
            }
        });

        var first = await harness.TickAsync();
        Assert.Equal(2, first.ValueOf(PostgresSignalNames.LocksBlocked, "main-db"));
        Assert.True(first.ValueOf(PostgresSignalNames.LocksMaxWait, "main-db") > 1);
        Assert.True(EngineHarness.IsOpen(first, Rule));

        var second = await harness.TickAsync();
        if (!optedIn)
        {
            // Destructive and not opted in: the engine never calls it; the blocker keeps its lock, the waiters keep waiting.
            Assert.Empty(second.Heals);
            Assert.Equal(ViolationState.Exhausted, EngineHarness.ViolationOf(second, Rule)?.State);
            Assert.False(blockerRun.IsCompleted);
            Assert.All(waiters, w => Assert.False(w.Run.IsCompleted));
            Assert.Equal(2, second.ValueOf(PostgresSignalNames.LocksBlocked, "main-db"));
            await ServerQueries.CountAsync(database, "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'blocked-app'");
        }
        else
        {
            var heal = Assert.Single(second.Heals);
            Assert.Equal(PostgresHealerNames.CancelBlockers, heal.Healer);
            Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
            Assert.Contains("1 blocking session(s)", heal.Outcome.Reason, StringComparison.Ordinal);
        }

        // Either way the blocker's statement ends cancelled (by the healer, or by the test's cleanup) and the waiters proceed.
        var cancelled = await Assert.ThrowsAsync<PostgresException>(() => blockerRun.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(PostgresErrorCodes.QueryCanceled, cancelled.SqlState);
        foreach (var (connection, run) in waiters)
        {
            Assert.Equal(2L, await run.WaitAsync(TimeSpan.FromSeconds(30), ct));
            await connection.DisposeAsync();
        }

        if (optedIn)
        {
            var third = await harness.TickAsync();
            Assert.Equal(0, third.ValueOf(PostgresSignalNames.LocksBlocked, "main-db"));
            Assert.Equal(ViolationState.Closed, EngineHarness.ViolationOf(third, Rule)?.State);
            Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "BlockerCancelled" && r.Message.Contains("blocked-app", StringComparison.Ordinal));
        }
    }
}
