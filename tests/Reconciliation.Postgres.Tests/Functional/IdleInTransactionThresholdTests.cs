using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// Issue 20: a rule on <c>postgres.idle_in_transaction.max_age</c> at 1 s opened, then the healer skipped for a minute
/// (its own default threshold) while the log counted attempts. The threshold now follows the calling rule unless set,
/// and a set threshold that disagrees with the rule is a start-time warning.
/// </summary>
public sealed class IdleInTransactionThresholdTests
{
    private const string LeakyApp = "threshold-app";
    private const string Rule = "idle-tx";

    [Fact]
    public async Task The_healer_follows_the_calling_rules_Above_when_its_own_threshold_is_unset()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(IdleInTransactionThresholdTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = LeakyApp }.ConnectionString);
        var leaky = await appDataSource.OpenConnectionAsync(ct);
        await ServerQueries.OpenIdleTransactionAsync(leaky);
        await Eventually.UntilAsync(async () => await ServerQueries.IdleInTransactionAsync(database, LeakyApp, 1.5) == 1, "the leaky session is idle for 1.5 s");

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", appDataSource) // no TerminateIdleInTransactionAfter
            .AddRule(Rule, r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 1;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .AllowDestructive(PostgresHealerNames.TerminateIdleInTransaction));

        var report = await harness.TickUntilHealAsync();

        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Contains("terminated 1 session(s)", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await ServerQueries.SessionsAsync(database, LeakyApp));
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Name == "TerminateThresholdMismatch");

        // The plan names the threshold in force: the rule's limit for a max_age rule, the one-minute default for any other.
        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.TerminateIdleInTransaction);
        Assert.Contains("longer than 1 s", healer.DescribePlan(Context(PostgresSignalNames.IdleInTransactionMaxAge, limit: 1)), StringComparison.Ordinal);
        Assert.Contains("longer than 60 s", healer.DescribePlan(Context(PostgresSignalNames.IdleInTransactionCount, limit: 3)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_set_threshold_that_differs_from_the_rules_Above_is_a_start_time_warning_naming_both_keys()
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(IdleInTransactionThresholdTests));
        await using var appDataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = LeakyApp }.ConnectionString);

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", appDataSource, o => o.TerminateIdleInTransactionAfter = TimeSpan.FromSeconds(60))
            .AddRule("at-30s", r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 30;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            })
            .AddRule("at-60s", r =>
            {
                r.Signal = PostgresSignalNames.IdleInTransactionMaxAge;
                r.Above = 60;
                r.Heal.Add(PostgresHealerNames.TerminateIdleInTransaction);
            }));

        // Logged when the options are validated, as the harness builds the engine: before any tick.
        var warning = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "TerminateThresholdMismatch");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("Reconciliation:Postgres:main-db:TerminateIdleInTransactionAfter is 60 s", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Rules:at-30s:Above", warning.Message, StringComparison.Ordinal);
        Assert.Contains("skips", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("at-60s", warning.Message, StringComparison.Ordinal);
    }

    private static HealContext Context(string signal, double limit) =>
        new(Rule, signal, "main-db", limit + 1, limit, RuleSeverity.Degraded, DateTimeOffset.UnixEpoch, 1, dryRun: true);
}
