using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>
/// The healers on a pooler shared with another app: the app declares <c>app</c>; <c>other</c> belongs to someone else.
/// What the healers did is observed on the PostgreSQL side (backend pids), not in the pooler's own answers.
/// </summary>
public sealed class HealerTests
{
    private const string Rule = "always-open";

    private static EngineHarness Harness(PgBouncerServer pooler, string healer, bool allowDestructive = false) => EngineHarness.Create(b =>
    {
        b.AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("app"))
            .AddRule(Rule, r =>
            {
                // The admin console is itself a client, so client usage is above zero: a rule that opens on the first tick.
                r.Signal = PgBouncerSignalNames.ClientsUsage;
                r.Above = 0;
                r.Heal.Add(healer);
            })
            .ConfigureHealer(healer, p => p.MaxAttempts = 1);
        if (allowDestructive)
        {
            b.AllowDestructive(healer);
        }
    });

    private static async Task<int> BackendPidAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<bool> BackendAliveAsync(PostgresServer backend, int pid, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(backend.AdminConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", connection) { Parameters = { new() { Value = pid } } };
        return (long)(await command.ExecuteScalarAsync(ct))! == 1;
    }

    /// <summary>A server connection of <paramref name="database"/> used once and released to the pooler's idle list; its backend pid.</summary>
    private static async Task<int> IdleServerPidAsync(PgBouncerServer pooler, string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(pooler.ConnectionStringFor(database, pooling: false));
        await connection.OpenAsync(ct);
        return await BackendPidAsync(connection, ct);
    }

    [Fact]
    public async Task Reconnect_replaces_the_declared_databases_server_connections_and_never_touches_the_other_database()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, backend) = await PoolerFixture.StartAsync(nameof(Reconnect_replaces_the_declared_databases_server_connections_and_never_touches_the_other_database),
            ("app", "session", 2), ("other", "session", 2));
        await using var _ = pooler;
        var appPid = await IdleServerPidAsync(pooler, "app", ct);
        var otherPid = await IdleServerPidAsync(pooler, "other", ct);
        Assert.Equal(appPid, await IdleServerPidAsync(pooler, "app", ct)); // the pooler reuses the idle server connection
        await using var harness = Harness(pooler, PgBouncerHealerNames.Reconnect);

        var report = await harness.TickUntilHealAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(PgBouncerHealerNames.Reconnect, heal.Healer);
        Assert.Equal(PgBouncerResourceNames.For("pooler", "app"), heal.Resource);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);

        // Server side: the app database's old backend goes away and a new one serves the next client.
        await Eventually.UntilAsync(async () => !await BackendAliveAsync(backend, appPid, ct), "the old backend of 'app' is gone");
        Assert.NotEqual(appPid, await IdleServerPidAsync(pooler, "app", ct));

        // The other app's database kept its server connection.
        Assert.True(await BackendAliveAsync(backend, otherPid, ct));
        Assert.Equal(otherPid, await IdleServerPidAsync(pooler, "other", ct));
    }

    [Fact]
    public async Task Kill_db_does_not_run_without_opt_in()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Kill_db_does_not_run_without_opt_in), ("app", "session", 2));
        await using var _ = pooler;
        await using var held = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("app", pooling: false), ct);
        var pid = await BackendPidAsync(held, ct);
        await using var harness = Harness(pooler, PgBouncerHealerNames.KillDatabase);

        var report = await harness.TickUntilHealAsync();

        Assert.DoesNotContain(report.Heals, h => h.Outcome.Kind == HealOutcomeKind.Healed);
        Assert.Equal(pid, await BackendPidAsync(held, ct)); // the client's session survived
    }

    [Fact]
    public async Task Kill_db_with_opt_in_drops_the_declared_databases_connections_resumes_it_and_leaves_the_other_database_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, backend) = await PoolerFixture.StartAsync(nameof(Kill_db_with_opt_in_drops_the_declared_databases_connections_resumes_it_and_leaves_the_other_database_alone),
            ("app", "session", 2), ("other", "session", 2));
        await using var _ = pooler;
        await using var appClient = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("app", pooling: false), ct);
        await using var otherClient = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("other", pooling: false), ct);
        var appPid = await BackendPidAsync(appClient, ct);
        var otherPid = await BackendPidAsync(otherClient, ct);
        await using var harness = Harness(pooler, PgBouncerHealerNames.KillDatabase, allowDestructive: true);

        var report = await harness.TickUntilHealAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => BackendPidAsync(appClient, ct));
        await Eventually.UntilAsync(async () => !await BackendAliveAsync(backend, appPid, ct), "the killed database's backend is gone");

        // Resumed: a new client of 'app' is served at once (a paused database would make it wait).
        var after = await harness.TickAsync();
        Assert.Equal(0, after.ValueOf(PgBouncerSignalNames.Paused, PgBouncerResourceNames.For("pooler", "app")));
        await using var fresh = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("app", pooling: false), ct);

        // The other database's client kept its session and its backend.
        Assert.Equal(otherPid, await BackendPidAsync(otherClient, ct));
    }

    [Fact]
    public async Task Resume_lets_a_paused_declared_database_take_connections_and_skips_when_nothing_is_paused()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Resume_lets_a_paused_declared_database_take_connections_and_skips_when_nothing_is_paused), ("app", "session", 2));
        await using var _ = pooler;
        var resource = PgBouncerResourceNames.For("pooler", "app");
        await using var harness = EngineHarness.Create(b => b
            .AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("app"))
            .AddRule("paused", r =>
            {
                r.Signal = PgBouncerSignalNames.Paused;
                r.Above = 0.5;
                r.Clear = 0.5;
                r.Heal.Add(PgBouncerHealerNames.Resume);
            }));
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == PgBouncerHealerNames.Resume);
        var context = new HealContext("paused", PgBouncerSignalNames.Paused, resource, 0, 0.5, RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, dryRun: false);
        Assert.Equal(HealOutcomeKind.Skipped, (await healer.HealAsync(context, ct)).Kind);

        var pooled = harness.Services.GetRequiredKeyedService<PgBouncerResource>("pooler");
        await pooled.ExecuteAsync(["PAUSE " + PgBouncerResource.Quote("app")], ct);
        var paused = await harness.TickUntilHealAsync();
        Assert.Equal(1, paused.ValueOf(PgBouncerSignalNames.Paused, resource));
        var heal = Assert.Single(paused.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);

        var resumed = await harness.TickAsync();
        Assert.Equal(0, resumed.ValueOf(PgBouncerSignalNames.Paused, resource));
        await using var client = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("app", pooling: false), ct);
    }

    [Fact]
    public async Task A_stats_user_cannot_reconnect_and_the_heal_fails_with_the_poolers_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_stats_user_cannot_reconnect_and_the_heal_fails_with_the_poolers_reason), ("app", "session", 2));
        await using var _ = pooler;
        await using var harness = EngineHarness.Create(b => b
            .AddPgBouncer("pooler", pooler.ConnectionStringFor("pgbouncer", PgBouncerServer.ScramUser, pooling: false), o => o.Databases.Add("app"))
            .AddRule(Rule, r =>
            {
                r.Signal = PgBouncerSignalNames.ClientsUsage;
                r.Above = 0;
                r.Heal.Add(PgBouncerHealerNames.Reconnect);
            }));

        var report = await harness.TickUntilHealAsync();

        Assert.Empty(report.ProbeFailures); // SHOW is allowed to stats users
        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Failed, heal.Outcome.Kind);
        Assert.Contains("the pooler refused", heal.Outcome.Reason, StringComparison.Ordinal);
    }
}
