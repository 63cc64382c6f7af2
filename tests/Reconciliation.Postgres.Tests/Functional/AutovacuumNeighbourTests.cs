using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// A real autovacuum worker as a lock blocker of the app, next to the app's own blocker and idle transaction: the session
/// healers act on the app's sessions and never touch the worker. On a dedicated server (its settings change): the launcher
/// visits the database every second, the table's own autovacuum settings make it vacuum at once and slowly (cost limit 1,
/// delay 100 ms: about ten pages a second), and <c>deadlock_timeout</c> is ten minutes, because after <c>deadlock_timeout</c>
/// a waiter's deadlock check cancels an autovacuum (not an anti-wraparound one) that blocks it, which would end the
/// scenario before the healers see it.
/// </summary>
public sealed class AutovacuumNeighbourTests
{
    private const string AppName = "orders";
    private const string AppRole = "app_autovacuum";
    private const string Password = "S3cr3t-autovacuum-pw";

    [Fact]
    public async Task An_autovacuum_worker_blocking_the_app_is_never_cancelled_nor_terminated_while_the_apps_own_sessions_are()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await RequireServer.DedicatedPostgresAsync();
        await ServerQueries.CountAsync(server.AdminConnectionString, "ALTER SYSTEM SET autovacuum_naptime = '1s'");
        await ServerQueries.CountAsync(server.AdminConnectionString, "ALTER SYSTEM SET deadlock_timeout = '10min'");
        await ServerQueries.CountAsync(server.AdminConnectionString, "SELECT count(*) FROM (SELECT pg_reload_conf()) r");

        var admin = await server.CreateDatabaseAsync("autovacuum", ct);
        await ServerQueries.CountAsync(admin, $"""
            SELECT 0 FROM (SELECT 1) x;
            CREATE ROLE "{AppRole}" LOGIN PASSWORD '{Password}' IN ROLE pg_signal_backend, pg_monitor;
            CREATE TABLE accounts (id int);
            INSERT INTO accounts VALUES (1), (2);
            CREATE TABLE big (id int, pad text) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
                autovacuum_vacuum_insert_threshold = 0, autovacuum_vacuum_insert_scale_factor = 0,
                autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
            INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;
            DELETE FROM big;
            GRANT ALL ON accounts, big TO "{AppRole}";
            SELECT 0
            """);

        // The worker on "big": seconds away (naptime 1 s), then busy for about a minute and a half.
        long autovacuum = 0;
        await Eventually.UntilAsync(async () =>
        {
            autovacuum = await ServerQueries.CountAsync(admin,
                "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = current_database() AND query LIKE '%big%'");
            return autovacuum != 0;
        }, "an autovacuum worker vacuums big", TimeSpan.FromSeconds(60));

        var sessions = new List<NpgsqlConnection>();
        try
        {
            var appConnectionString = new NpgsqlConnectionStringBuilder(admin)
            {
                Username = AppRole, Password = Password, ApplicationName = AppName, Pooling = false,
            }.ConnectionString;
            async Task<(NpgsqlConnection Connection, Task<int> Run)> RunAsync(string sql)
            {
                var connection = new NpgsqlConnection(appConnectionString);
                sessions.Add(connection);
                await connection.OpenAsync(ct);
                return (connection, new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync(CancellationToken.None));
            }

            // The app waits on the worker; and, as the controls, the app's own blocker (running) with its own waiter, and the
            // app's own idle transaction.
            var waitsOnAutovacuum = await RunAsync("DO $$ BEGIN LOCK TABLE big IN ACCESS EXCLUSIVE MODE; END $$");
            var ownBlocker = await RunAsync("DO $$ BEGIN PERFORM count(*) FROM accounts; PERFORM pg_sleep(60); END $$");
            await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(admin,
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'accounts' AND l.granted AND l.pid = $1",
                ownBlocker.Connection.ProcessID) == 1, "the app's own blocker holds its lock");
            var waitsOnOwn = await RunAsync("DO $$ BEGIN LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; END $$");
            var idle = new NpgsqlConnection(appConnectionString);
            sessions.Add(idle);
            await ServerQueries.OpenIdleTransactionAsync(idle);

            try
            {
                await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(admin,
                    "SELECT count(*) FROM pg_locks WHERE pid = ANY($1) AND NOT granted AND waitstart < now() - interval '1.5 seconds'",
                    new[] { waitsOnAutovacuum.Connection.ProcessID, waitsOnOwn.Connection.ProcessID }) == 2, "both waiters have waited 1.5 s");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Say what the server saw (the worker ended early, a waiter failed...), not only that the wait timed out.
                Assert.Fail($"{e.Message} The worker: {autovacuum}; the waiters: {waitsOnAutovacuum.Run.Exception?.InnerException?.Message}, {waitsOnOwn.Run.Exception?.InnerException?.Message}\n{await SessionsAndLocksAsync(admin)}");
            }

            Assert.Equal(1, await ServerQueries.CountAsync(admin, "SELECT count(*) FROM unnest(pg_blocking_pids($1)) b(pid) WHERE pid = $2",
                waitsOnAutovacuum.Connection.ProcessID, (int)autovacuum));
            await Eventually.UntilAsync(async () => await ServerQueries.IdleInTransactionAsync(admin, AppName, 1.5) == 1,
                "the app's idle transaction has been idle 1.5 s");

            await using var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(appConnectionString) { Pooling = true }.ConnectionString);
            await using var harness = EngineHarness.Create(b => b
                .AddPostgres("main-db", app, o =>
                {
                    o.CancelBlockersAfter = TimeSpan.FromSeconds(1);
                    o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1);
                })
                .AddRule("blocked", r =>
                {
                    r.Signal = PostgresSignalNames.LocksBlocked;
                    r.Above = 0;
                    r.Heal.Add(PostgresHealerNames.CancelBlockers);
                })
                .AddRule("idle-tx", r =>
                {
                    r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                    r.Above = 1;
                    r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
                })
                .AllowDestructive(PostgresHealerNames.CancelBlockers)
                .AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction));

            var heals = new List<HealResult>();
            for (var i = 0; i < 8 && heals.Select(h => h.Healer).Distinct().Count() < 2; i++)
            {
                heals.AddRange((await harness.TickAsync()).Heals);
            }

            var cancel = Assert.Single(heals, h => h.Healer == PostgresHealerNames.CancelBlockers);
            Assert.Equal(HealOutcomeKind.Healed, cancel.Outcome.Kind);
            Assert.Contains("cancelled the statements of 1 blocking session(s)", cancel.Outcome.Reason, StringComparison.Ordinal);
            Assert.Contains("1 blocker(s) outside scope: not a client backend (autovacuum worker)", cancel.Outcome.Reason, StringComparison.Ordinal);
            var terminate = Assert.Single(heals, h => h.Healer == PostgresHealerNames.TerminateIdleInTransaction);
            Assert.Equal(HealOutcomeKind.Healed, terminate.Outcome.Kind);

            // The controls were acted on: the app's own blocker was cancelled, its own idle transaction terminated.
            var cancelled = await Assert.ThrowsAsync<PostgresException>(() => ownBlocker.Run.WaitAsync(TimeSpan.FromSeconds(30), ct));
            Assert.Equal(PostgresErrorCodes.QueryCanceled, cancelled.SqlState);
            // pg_terminate_backend signals and returns: the backend leaves pg_stat_activity a moment later.
            await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", idle.ProcessID) == 0,
                "the app's idle transaction's backend has exited");

            // The worker was not: the same pid still vacuums big, and the app still waits on it.
            Assert.Equal(1, await ServerQueries.CountAsync(admin,
                "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_progress_vacuum p USING (pid) WHERE a.pid = $1 AND a.backend_type = 'autovacuum worker' AND a.query LIKE '%big%'",
                (int)autovacuum));
            Assert.False(waitsOnAutovacuum.Run.IsCompleted);
            Assert.Equal(1, await ServerQueries.CountAsync(admin, "SELECT count(*) FROM unnest(pg_blocking_pids($1)) b(pid) WHERE pid = $2",
                waitsOnAutovacuum.Connection.ProcessID, (int)autovacuum));
        }
        finally
        {
            // A session waiting on a lock does not close until it gets it: end them on the server first.
            await ServerQueries.CountAsync(admin, $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{AppRole}'");
            foreach (var session in sessions)
            {
                try
                {
                    await session.DisposeAsync();
                }
                catch (Exception e) when (e is NpgsqlException or ObjectDisposedException or InvalidOperationException)
                {
                    // Cancelled or terminated by the healers under test.
                }
            }
        }
    }

    private static async Task<string> SessionsAndLocksAsync(string admin)
    {
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT concat_ws(' | ', a.pid, a.backend_type, a.state, left(a.query, 60), l.relation::regclass, l.mode, l.granted, l.waitstart)
            FROM pg_stat_activity a LEFT JOIN pg_locks l USING (pid) WHERE a.datname = current_database()
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var lines = new List<string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }
}
