using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// "Do no harm": the app's session healers next to hostile and innocent neighbours on a real server. The app connects as
/// its own non-superuser role that MAY signal other roles (pg_signal_backend) and read every session (pg_monitor), so
/// only the healers' scope keeps the neighbours safe. Each test counts the neighbours touched: expected 0.
/// </summary>
public sealed class NeighboursTests
{
    private const string AppName = "orders";
    private const string Password = "S3cr3t-neighbour-pw";

    [Fact]
    public async Task Terminate_touches_only_the_apps_own_idle_transactions()
    {
        await using var world = await World.CreateAsync(nameof(Terminate_touches_only_the_apps_own_idle_transactions));
        await using var app = world.AppDataSource();

        var own = new List<NpgsqlConnection>();
        for (var i = 0; i < 2; i++)
        {
            own.Add(world.Track((await ServerQueries.OpenIdleTransactionAsync(await app.OpenConnectionAsync(TestContext.Current.CancellationToken))).Connection));
        }

        // Neighbours: another application of the same role, the app's name under another role, an admin's psql that uses the
        // app's name (superuser), a pg_dump holding a lock, and the app's own name and role in another database.
        var neighbours = new List<NpgsqlConnection>
        {
            await world.IdleTransactionAsync(world.AppRole, "billing"),
            await world.IdleTransactionAsync(world.OtherRole, AppName),
            await world.IdleTransactionAsync(null, AppName),
            await world.IdleTransactionAsync(null, "pg_dump", "SELECT count(*) FROM accounts"),
            await world.IdleTransactionAsync(world.AppRole, AppName, database: world.OtherDatabase),
        };
        var neighbourPids = neighbours.Select(n => n.ProcessID).ToArray();
        int[] allPids = [.. own.Select(c => c.ProcessID), .. neighbourPids];
        await Eventually.UntilAsync(async () => await IdleInTransactionAsync(world, allPids, 1.5) == allPids.Length,
            "every session has been idle in transaction for 1.5 s");

        // Dry-run and no opt-in first: nothing may be touched.
        foreach (var mode in new[] { "dry-run", "no-opt-in" })
        {
            await using var cautious = EngineHarness.Create(b =>
            {
                b.AddPostgres("main-db", app, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1))
                    .AddRule("idle-tx", r =>
                    {
                        r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                        r.Above = 1;
                        r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
                    });
                if (mode == "dry-run")
                {
                    b.AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction)
                        .ConfigureHealer(PostgresHealerNames.TerminateIdleInTransaction, p => p.DryRun = true);
                }
            });
            await cautious.TickAsync();
            var cautiousReport = await cautious.TickAsync();
            Assert.All(cautiousReport.Heals, h => Assert.Equal(HealOutcomeKind.DryRun, h.Outcome.Kind));
            Assert.Equal(7, await world.AliveAsync([.. own.Select(c => c.ProcessID), .. neighbourPids]));
        }

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", app, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1))
            .AddRule("idle-tx", r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 1;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction));

        var first = await harness.TickAsync();
        Assert.Equal(2, first.ValueOf(PostgresSignalNames.IdleInTransactionCount, "main-db")); // the scope, not the neighbours
        var second = await harness.TickAsync();
        var heal = Assert.Single(second.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Contains("terminated 2 session(s)", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("2 session(s) outside scope: other application", heal.Outcome.Reason, StringComparison.Ordinal); // billing, pg_dump
        Assert.Contains("2 session(s) outside scope: other role", heal.Outcome.Reason, StringComparison.Ordinal); // other role, admin

        // pg_terminate_backend signals and returns: a terminated backend leaves pg_stat_activity a moment later.
        await Eventually.UntilAsync(async () => await world.AliveAsync([.. own.Select(c => c.ProcessID)]) == 0, "the app's own idle transactions ended");
        Assert.Equal(neighbours.Count, await world.AliveAsync(neighbourPids)); // 0 neighbours touched
        foreach (var neighbour in neighbours)
        {
            await using var command = new NpgsqlCommand("SELECT 1", neighbour);
            Assert.Equal(1, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken)); // still in its transaction
        }

        var third = await harness.TickAsync();
        Assert.Equal(ViolationState.Closed, EngineHarness.ViolationOf(third, "idle-tx")?.State);
        world.AssertNoSecret(harness.Logs.GetSnapshot().Select(r => r.Message));
        world.AssertNoSecret([.. new[] { first, second, third }.Select(Reconciliation.Status.ReconciliationStatusJson.Serialize)]); // 0 secrets in status JSON
    }

    [Fact]
    public async Task A_session_the_role_may_not_signal_is_skipped_and_the_cap_binds()
    {
        await using var world = await World.CreateAsync(nameof(A_session_the_role_may_not_signal_is_skipped_and_the_cap_binds));
        await using var app = world.AppDataSource();

        // A superuser's session first (oldest), declared in scope on purpose: the app's role may not terminate it.
        var superuser = await world.IdleTransactionAsync(null, AppName);
        await Eventually.UntilAsync(async () => await IdleInTransactionAsync(world, [superuser.ProcessID], 0.2) == 1, "the superuser session is the oldest");
        var own = new List<NpgsqlConnection>();
        for (var i = 0; i < 3; i++)
        {
            own.Add(world.Track((await ServerQueries.OpenIdleTransactionAsync(await app.OpenConnectionAsync(TestContext.Current.CancellationToken))).Connection));
        }

        await Eventually.UntilAsync(async () => await IdleInTransactionAsync(world, [superuser.ProcessID, .. own.Select(c => c.ProcessID)], 1.5) == 4, "idle for 1.5 s");

        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app, o =>
        {
            o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1);
            o.Roles.Add(world.AppRole);
            o.Roles.Add(PostgresServerNames.Superuser);
        }));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.TerminateIdleInTransaction);
        var outcome = await healer.HealAsync(new HealContext("idle-tx", PostgresSignalNames.IdleInTransactionMaxAge, "main-db", 2, 1,
            RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, dryRun: false) { MaxTargets = 2 }, TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Contains("terminated 2 session(s)", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("1 session(s) in scope not permitted to signal", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("MaxTargets 2 bound: 1 more session(s) in scope left for the next heal", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(1, await world.AliveAsync([superuser.ProcessID]));
        Assert.Equal(1, await world.AliveAsync([.. own.Select(c => c.ProcessID)]));
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "SessionNotPermitted");
    }

    [Fact]
    public async Task Cancel_blockers_cancels_only_the_apps_own_blocker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await World.CreateAsync(nameof(Cancel_blockers_cancels_only_the_apps_own_blocker));
        await using var app = world.AppDataSource();

        // Blockers of the app's waiter, each in a running statement that holds ACCESS SHARE on accounts: the app's own, another
        // application of the same role, the app's name under another role, and a pg_dump (superuser).
        const string hold = "DO $$ BEGIN PERFORM count(*) FROM accounts; PERFORM pg_sleep(60); END $$";
        var ownBlocker = await world.RunAsync(world.AppRole, AppName, hold);
        var neighbours = new[]
        {
            await world.RunAsync(world.AppRole, "billing", hold),
            await world.RunAsync(world.OtherRole, AppName, hold),
            await world.RunAsync(null, "pg_dump", hold),
        };
        // pg_locks shows every database of the shared server, where other test classes (BlockerTests) run lock waiters of
        // their own at the same time: each wait is on this test's sessions, by pid, or another test's waiter satisfies it.
        int[] blockerPids = [ownBlocker.Connection.ProcessID, .. neighbours.Select(n => n.Connection.ProcessID)];
        await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(world.Admin,
            "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND c.relname = 'accounts' AND l.granted AND l.pid = ANY($1)",
            blockerPids) == blockerPids.Length, "the blockers hold their locks");

        var waiter = await world.RunAsync(world.AppRole, AppName, "DO $$ BEGIN LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; END $$");
        await Eventually.UntilAsync(async () => await ServerQueries.CountAsync(world.Admin,
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted AND waitstart < now() - interval '1.5 seconds'", waiter.Connection.ProcessID) == 1,
            "the waiter has waited 1.5 s on the lock");

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", app, o => o.CancelBlockersAfter = TimeSpan.FromSeconds(1))
            .AddRule("blocked", r =>
            {
                r.Signal = PostgresSignalNames.LocksBlocked;
                r.Above = 0;
                r.Heal.Add(PostgresHealerNames.CancelBlockers);
            })
            .AllowDestructive(PostgresHealerNames.CancelBlockers));

        var first = await harness.TickAsync();
        Assert.Equal(1, first.ValueOf(PostgresSignalNames.LocksBlocked, "main-db"));
        Assert.True(first.ValueOf(PostgresSignalNames.LocksMaxWait, "main-db") > 1); // from pg_locks.waitstart
        var heal = Assert.Single((await harness.TickAsync()).Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Contains("cancelled the statements of 1 blocking session(s)", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("2 blocker(s) outside scope: other application", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("1 blocker(s) outside scope: other role", heal.Outcome.Reason, StringComparison.Ordinal);

        var cancelled = await Assert.ThrowsAsync<PostgresException>(() => ownBlocker.Run.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(PostgresErrorCodes.QueryCanceled, cancelled.SqlState);
        Assert.All(neighbours, n => Assert.False(n.Run.IsCompleted)); // 0 neighbours touched
        Assert.Equal(neighbours.Length, await world.AliveAsync(neighbours.Select(n => n.Connection.ProcessID).ToArray()));
        Assert.False(waiter.Run.IsCompleted); // still blocked by the neighbours: their business, not ours

        // Only this test's sessions: other test classes run their own pg_sleep blockers on the shared server (BlockerTests).
        await ServerQueries.CountAsync(world.Admin, "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity WHERE pid = ANY($1)",
            neighbours.Select(n => n.Connection.ProcessID).Append(waiter.Connection.ProcessID).ToArray());
        foreach (var run in neighbours.Append(waiter).Append(ownBlocker))
        {
            try
            {
                await run.Run.WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            catch (PostgresException)
            {
            }
        }
    }

    [Fact]
    public async Task A_probe_connection_string_for_another_database_fails_at_start()
    {
        await using var world = await World.CreateAsync(nameof(A_probe_connection_string_for_another_database_fails_at_start));
        await using var app = world.AppDataSource();

        var error = Assert.ThrowsAny<Exception>(() =>
        {
            var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app, o => o.ProbeConnectionString = new NpgsqlConnectionStringBuilder(world.Admin) { Database = "postgres" }.ConnectionString));
            harness.Services.GetRequiredService<IReconciler>();
        });
        var messages = string.Join(" | ", Unwrap(error).Select(e => e.Message));
        Assert.Contains("Reconciliation:Postgres:main-db:ProbeConnectionString connects to the database 'postgres'", messages, StringComparison.Ordinal);
        world.AssertNoSecret([messages]);
    }

    [Fact]
    public async Task No_npgsql_metric_series_of_the_librarys_pools_carries_a_connection_string()
    {
        await using var world = await World.CreateAsync(nameof(No_npgsql_metric_series_of_the_librarys_pools_carries_a_connection_string));
        var appSettings = new NpgsqlConnectionStringBuilder(world.AppConnectionString(AppName));
        var builder = new NpgsqlDataSourceBuilder(appSettings.ConnectionString) { Name = "orders-db" };
        await using var app = builder.Build();

        using var meter = new NpgsqlSeries();
        await using (var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app, o => o.ProbeConnectionString = world.AppConnectionString("ignored"))))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Empty((await harness.TickAsync()).ProbeFailures);
            }

            meter.RecordObservables();
        }

        var ours = meter.Series;
        Assert.Contains(ours, s => s.Contains("db.client.connection.pool.name=reconciliation-probe:main-db", StringComparison.Ordinal));
        Assert.Contains(ours, s => s.Contains("db.client.connection.pool.name=orders-db", StringComparison.Ordinal));
        AssertNoConnectionString(world, meter);
    }

    /// <summary>
    /// Without <c>ProbeConnectionString</c> the probe derives its own NAMED data source from the app's: here the app's
    /// password lives in a passfile (a secret mounted as a file), so the derived source authenticates and no series of
    /// the library's pools carries a connection string, with zero configuration.
    /// </summary>
    [Fact]
    public async Task Without_a_probe_connection_string_the_derived_probe_pool_is_named_when_the_credentials_are_outside_the_data_source()
    {
        await using var world = await World.CreateAsync(nameof(Without_a_probe_connection_string_the_derived_probe_pool_is_named_when_the_credentials_are_outside_the_data_source)[..30]);
        var passfile = Path.Combine(Path.GetTempPath(), $"pgpass-{Guid.NewGuid():N}");
        var settings = new NpgsqlConnectionStringBuilder(world.AppConnectionString(AppName));
        await File.WriteAllTextAsync(passfile, $"*:*:*:{world.AppRole}:{Password}\n", TestContext.Current.CancellationToken);
        try
        {
            settings.Password = null;
            settings.Passfile = passfile;
            var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString) { Name = "orders-db" };
            await using var app = builder.Build();

            using var meter = new NpgsqlSeries();
            await using (var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app)))
            {
                for (var i = 0; i < 3; i++)
                {
                    Assert.Empty((await harness.TickAsync()).ProbeFailures);
                }

                meter.RecordObservables();
                Assert.True(harness.Services.GetRequiredKeyedService<PostgresResource>("main-db").Connector.IsNamed);
                Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == 111);
            }

            var ours = meter.Series;
            Assert.Contains(ours, s => s.Contains("db.client.connection.pool.name=reconciliation-probe:main-db", StringComparison.Ordinal));
            AssertNoConnectionString(world, meter);
        }
        finally
        {
            File.Delete(passfile);
        }
    }

    /// <summary>
    /// The password lives only inside the app's data source (set on its builder, or handed out by a password provider), the
    /// app's pool is saturated, and a destructive heal runs: the probe logs in through its own data source NAMED
    /// <c>reconciliation-probe:main-db</c> (it asks the app's data source for the password at each login), answers on its own
    /// session, says nothing about a fallback (no warning 111), and no series of Npgsql's meter carries this database's
    /// server, user, database or password in a connection string. (Before, the probe cloned the app's data source here and
    /// that unnamed pool's series carried <c>Host=…;Port=…;Username=…;Database=…</c>.)
    /// </summary>
    [Theory]
    [InlineData("static")]
    [InlineData("provider")]
    public async Task A_password_held_only_by_the_app_data_source_still_gives_the_probe_a_named_pool_of_its_own(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await World.CreateAsync("pw_only_" + kind);
        var settings = new NpgsqlConnectionStringBuilder(world.AppConnectionString(AppName)) { Password = null, MaxPoolSize = 2, Timeout = 2 };
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString) { Name = "orders-db" };
        var asked = 0;
        if (kind == "static")
        {
            builder.ConnectionStringBuilder.Password = Password;
        }
        else
        {
            builder.UsePasswordProvider(_ => Password, (_, _) =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(Password);
            });
        }

        await using var app = builder.Build();
        Assert.DoesNotContain(Password, app.ConnectionString, StringComparison.Ordinal);

        using var meter = new NpgsqlSeries();

        // Every connection of the app's pool is held, idle in a transaction: the probe must answer on its own session, and
        // the heal (terminate, opted in) frees them.
        var own = new List<NpgsqlConnection>();
        for (var i = 0; i < 2; i++)
        {
            own.Add(world.Track((await ServerQueries.OpenIdleTransactionAsync(await app.OpenConnectionAsync(ct))).Connection));
        }

        var pids = own.Select(c => c.ProcessID).ToArray();
        await Eventually.UntilAsync(async () => await IdleInTransactionAsync(world, pids, 1.5) == 2, "the app's sessions have been idle in transaction for 1.5 s");
        var askedBeforeProbe = Volatile.Read(ref asked);
        await using (var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", app, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(1))
            .AddRule("idle-tx", r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 1;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction)))
        {
            var first = await harness.TickAsync();
            Assert.Empty(first.ProbeFailures);
            Assert.Equal(2, first.ValueOf(PostgresSignalNames.IdleInTransactionCount, "main-db"));
            var heal = Assert.Single((await harness.TickAsync()).Heals);
            Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
            Assert.Contains("terminated 2 session(s)", heal.Outcome.Reason, StringComparison.Ordinal);
            Assert.Equal(0, await world.AliveAsync(pids));
            Assert.Empty((await harness.TickAsync()).ProbeFailures);

            meter.RecordObservables();
            var connector = harness.Services.GetRequiredKeyedService<PostgresResource>("main-db").Connector;
            Assert.True(connector.IsNamed);
            Assert.Equal("reconciliation-probe:main-db", connector.DataSourceName);
            Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == 111);
            world.AssertNoSecret(harness.Logs.GetSnapshot().Select(r => r.Message));
        }

        if (kind == "provider")
        {
            Assert.True(Volatile.Read(ref asked) > askedBeforeProbe, "the probe's login asked the app's password provider");
        }

        Assert.Contains(meter.Series, s => s.Contains("db.client.connection.pool.name=reconciliation-probe:main-db", StringComparison.Ordinal));
        AssertNoConnectionString(world, meter);
    }

    /// <summary>
    /// A rotated password is followed: the app's password provider hands out the new password after <c>ALTER ROLE …
    /// PASSWORD</c>, and the probe's next physical login (its session was terminated) uses it, still on its named pool.
    /// </summary>
    [Fact]
    public async Task The_probe_follows_a_rotated_password_at_its_next_login()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await World.CreateAsync("pw_rotated");
        var current = Password;
        var builder = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(world.AppConnectionString(AppName)) { Password = null }.ConnectionString) { Name = "orders-db" };
        builder.UsePasswordProvider(_ => Volatile.Read(ref current), (_, _) => ValueTask.FromResult(Volatile.Read(ref current)));
        await using var app = builder.Build();

        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app));
        Assert.Empty((await harness.TickAsync()).ProbeFailures);
        var before = await ProbeSessionAsync(world);

        const string Rotated = "R0tated-neighbour-pw";
        await ServerQueries.CountAsync(world.Admin, $"SELECT 0 FROM (SELECT 1) x; ALTER ROLE \"{world.AppRole}\" PASSWORD '{Rotated}'; SELECT 0");
        Volatile.Write(ref current, Rotated);
        var stale = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(world.AppConnectionString("stale")) { Pooling = false }.ConnectionString);
        await using (stale)
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => stale.OpenAsync(ct));
            Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState); // the old password is dead
        }

        await ServerQueries.CountAsync(world.Admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = $1", [before]);

        // The first tick may still find the dead session (a probe failure, the session dropped); the next logs in anew.
        var recovered = false;
        for (var i = 0; i < 3 && !recovered; i++)
        {
            recovered = (await harness.TickAsync()).ProbeFailures.Count == 0 && await ProbeSessionAsync(world) is var after && after != 0 && after != before;
        }

        Assert.True(recovered, "the probe logged in again with the rotated password");
        Assert.True(harness.Services.GetRequiredKeyedService<PostgresResource>("main-db").Connector.IsNamed);
        world.AssertNoSecret(harness.Logs.GetSnapshot().Select(r => r.Message));
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Message.Contains(Rotated, StringComparison.Ordinal));
    }

    /// <summary>
    /// The fallback kept for an Npgsql that no longer hands a clone its data source's password (forced here): the derived
    /// source cannot log in, the probe clones the app's data source, says so once (warning 111), and reads on; that clone's
    /// pool is unnamed (Npgsql names it after its connection string without the password), the password appears nowhere.
    /// </summary>
    [Fact]
    public async Task Without_the_password_handed_over_the_probe_falls_back_to_an_unnamed_clone_and_says_so_once()
    {
        await using var world = await World.CreateAsync("pw_fallback");
        var builder = new NpgsqlDataSourceBuilder(world.AppConnectionString(AppName)) { Name = "orders-db" };
        await using var app = builder.Build();
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogger();
        var options = new PostgresReconciliationOptions { Resource = "main-db" };

        using var meter = new NpgsqlSeries();
        await using (var connector = new PostgresProbeConnector(app, options, logs, askAppForPassword: false))
        {
            for (var i = 0; i < 3; i++)
            {
                var one = await connector.UseAsync(async (session, _, ct) =>
                {
                    await using var command = new NpgsqlCommand("SELECT 1", session);
                    return (int)(await command.ExecuteScalarAsync(ct))!;
                }, TestContext.Current.CancellationToken);
                Assert.Equal(1, one);
            }

            meter.RecordObservables();
            Assert.False(connector.IsNamed);
        }

        Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == 111);
        world.AssertNoSecret(logs.Collector.GetSnapshot().Select(r => r.Message));
        Assert.Contains(meter.Series, s => s.Contains("Application Name=reconciliation-probe", StringComparison.Ordinal) && s.Contains(world.Database, StringComparison.Ordinal));
        world.AssertNoSecret(meter.Series);
    }

    /// <summary>The backend pid of the probe's session on this world's database, or 0.</summary>
    private static async Task<int> ProbeSessionAsync(World world) =>
        (int)await ServerQueries.CountAsync(world.Admin,
            "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE application_name = 'reconciliation-probe' AND datname = current_database()");

    private static void AssertNoConnectionString(World world, NpgsqlSeries meter)
    {
        // Other tests in this process, and this test's own observer queries (unnamed, application "test-observer"), run
        // unnamed pools; none of the library's series is tagged with a connection string.
        var series = meter.Series;
        var library = series.Where(s => !s.Contains("test-observer", StringComparison.Ordinal)).ToArray();
        Assert.True(!library.Any(s => s.Contains(world.Database, StringComparison.Ordinal)), string.Join("\n", library.Where(s => s.Contains(world.Database, StringComparison.Ordinal)).Distinct()));
        Assert.True(!library.Any(s => s.Contains(world.AppRole, StringComparison.Ordinal)), string.Join("\n", library.Where(s => s.Contains(world.AppRole, StringComparison.Ordinal)).Distinct()));
        world.AssertNoSecret(series);

        // The library's own pools, tag by tag: the server's address and port appear only where OpenTelemetry's database
        // conventions put them (server.address / server.port on db.client.operation.duration, for every data source, the
        // app's included); no other tag, the pool's name above all, carries host, port, user, database or password.
        var server = new NpgsqlConnectionStringBuilder(world.Admin);
        string[] forbidden = [server.Host!, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), world.AppRole, world.Database, Password, "Host=", "Username=", "Database="];
        var ours = meter.Measurements.Where(m => m.Tags.Any(t => t.Key == "db.client.connection.pool.name" && t.Value is string name && name.StartsWith("reconciliation-probe:", StringComparison.Ordinal))).ToArray();
        Assert.NotEmpty(ours);
        foreach (var (instrument, tags) in ours)
        {
            foreach (var (key, value) in tags)
            {
                if (key is "server.address" or "server.port")
                {
                    Assert.Equal("db.client.operation.duration", instrument);
                    continue;
                }

                Assert.True(!forbidden.Any(f => value?.ToString()?.Contains(f, StringComparison.Ordinal) == true), $"{instrument} {key}={value}");
            }
        }
    }

    /// <summary>Every measurement of Npgsql's meter (observable instruments included, on demand) as "name tag=value ...".</summary>
    private sealed class NpgsqlSeries : IDisposable
    {
        private readonly List<string> _series = [];
        private readonly List<(string Instrument, KeyValuePair<string, object?>[] Tags)> _measurements = [];
        private readonly MeterListener _listener;

        public NpgsqlSeries()
        {
            _listener = new MeterListener
            {
                InstrumentPublished = static (instrument, l) =>
                {
                    if (instrument.Meter.Name == "Npgsql")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<int>(Capture);
            _listener.SetMeasurementEventCallback<long>(Capture);
            _listener.SetMeasurementEventCallback<double>(Capture);
            _listener.Start();
        }

        public string[] Series
        {
            get
            {
                lock (_series)
                {
                    return [.. _series];
                }
            }
        }

        public (string Instrument, KeyValuePair<string, object?>[] Tags)[] Measurements
        {
            get
            {
                lock (_series)
                {
                    return [.. _measurements];
                }
            }
        }

        public void RecordObservables() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Capture<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            var line = new StringBuilder(instrument.Name);
            foreach (var tag in tags)
            {
                line.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            lock (_series)
            {
                _series.Add(line.ToString());
                _measurements.Add((instrument.Name, tags.ToArray()));
            }
        }
    }

    /// <summary>
    /// How many of <paramref name="pids"/> have been idle in a transaction for <paramref name="seconds"/> (server clock). By
    /// pid: pg_stat_activity shows every database of the shared server, where other test classes keep idle transactions too.
    /// </summary>
    private static Task<long> IdleInTransactionAsync(World world, int[] pids, double seconds) =>
        ServerQueries.CountAsync(world.Admin,
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'idle in transaction' AND state_change < now() - make_interval(secs => $2)",
            pids, seconds);

    private static IEnumerable<Exception> Unwrap(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static class PostgresServerNames
    {
        public const string Superuser = Reconciliation.TestServers.PostgresServer.Superuser;
    }

    /// <summary>A database with the app's role, another role, an "accounts" table, and a second database; cleaned up on dispose.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly List<NpgsqlConnection> _opened = [];

        private World(string admin, string appRole, string otherRole, string otherDatabase)
        {
            Admin = admin;
            AppRole = appRole;
            OtherRole = otherRole;
            OtherDatabase = otherDatabase;
            Database = new NpgsqlConnectionStringBuilder(admin).Database!;
        }

        /// <summary>The superuser's connection string for the test database.</summary>
        public string Admin { get; }

        public string Database { get; }

        public string AppRole { get; }

        public string OtherRole { get; }

        public string OtherDatabase { get; }

        public static async Task<World> CreateAsync(string scope)
        {
            var pg = await RequireServer.PostgresAsync();
            var admin = await pg.CreateDatabaseAsync("nb_" + scope);
            var other = new NpgsqlConnectionStringBuilder(await pg.CreateDatabaseAsync("nb_other")).Database!;
            var suffix = new NpgsqlConnectionStringBuilder(admin).Database!;
            var world = new World(admin, "app_" + suffix, "other_" + suffix, other);
            await ServerQueries.CountAsync(admin, $"""
                SELECT 0 FROM (SELECT 1) x;
                CREATE ROLE "{world.AppRole}" LOGIN PASSWORD '{Password}' IN ROLE pg_signal_backend, pg_monitor;
                CREATE ROLE "{world.OtherRole}" LOGIN PASSWORD '{Password}';
                CREATE TABLE accounts (id int);
                INSERT INTO accounts VALUES (1), (2);
                GRANT ALL ON accounts TO "{world.AppRole}", "{world.OtherRole}";
                SELECT 0
                """);
            return world;
        }

        /// <summary>The app's data source: its own role and application name, pooled.</summary>
        public NpgsqlDataSource AppDataSource() => NpgsqlDataSource.Create(AppConnectionString(AppName));

        public string AppConnectionString(string application) =>
            new NpgsqlConnectionStringBuilder(Admin) { Username = AppRole, Password = Password, ApplicationName = application, Pooling = true }.ConnectionString;

        /// <summary>A session of <paramref name="role"/> (null: the superuser) that starts a transaction, runs <paramref name="sql"/>, and sits idle in it.</summary>
        public async Task<NpgsqlConnection> IdleTransactionAsync(string? role, string application, string sql = "SELECT 1", string? database = null)
        {
            var connection = Open(role, application, database);
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
            return connection;
        }

        /// <summary>A session of <paramref name="role"/> running <paramref name="sql"/> in the background.</summary>
        public async Task<(NpgsqlConnection Connection, Task<int> Run)> RunAsync(string? role, string application, string sql)
        {
            var connection = Open(role, application, null);
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            var command = new NpgsqlCommand(sql, connection);
            return (connection, command.ExecuteNonQueryAsync(CancellationToken.None));
        }

        public NpgsqlConnection Track(NpgsqlConnection connection)
        {
            _opened.Add(connection);
            return connection;
        }

        /// <summary>How many of <paramref name="pids"/> still have a session on the server.</summary>
        public async Task<long> AliveAsync(int[] pids) =>
            await ServerQueries.CountAsync(Admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids);

        public void AssertNoSecret(IEnumerable<string> texts)
        {
            foreach (var text in texts)
            {
                Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
                Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(Admin).Password!, text, StringComparison.Ordinal);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var connection in _opened)
            {
                try
                {
                    await connection.DisposeAsync();
                }
                catch (Exception e) when (e is NpgsqlException or ObjectDisposedException or InvalidOperationException)
                {
                    // Terminated by the healer under test: nothing to close.
                }
            }

            NpgsqlConnection.ClearAllPools();
            await ServerQueries.CountAsync(Admin, $"""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename IN ('{AppRole}', '{OtherRole}');
                """);
        }

        private NpgsqlConnection Open(string? role, string application, string? database)
        {
            var settings = new NpgsqlConnectionStringBuilder(Admin) { ApplicationName = application, Pooling = false };
            if (role is not null)
            {
                settings.Username = role;
                settings.Password = Password;
            }

            if (database is not null)
            {
                settings.Database = database;
            }

            var connection = new NpgsqlConnection(settings.ConnectionString);
            _opened.Add(connection);
            return connection;
        }
    }
}
