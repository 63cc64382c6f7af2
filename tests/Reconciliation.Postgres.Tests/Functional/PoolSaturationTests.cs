using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>Every connection of a small Npgsql pool is held and a request waits: the pool signals say so, the server probe still answers.</summary>
public sealed class PoolSaturationTests
{
    private const string Rule = "pool-saturation";

    [Fact]
    public async Task Saturated_pool_reads_full_with_a_pending_request_the_server_probe_answers_and_clear_pool_runs_under_its_policy()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(PoolSaturationTests));
        var builder = new NpgsqlDataSourceBuilder(database) { Name = "saturated-pool" };
        builder.ConnectionStringBuilder.ApplicationName = "saturated-app";
        builder.ConnectionStringBuilder.MaxPoolSize = 2;
        builder.ConnectionStringBuilder.Timeout = 60; // the waiting request must outlive the test's ticks
        await using var appDataSource = builder.Build();

        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("main-db", appDataSource, o => o.PoolName = "saturated-pool")
            .AddRule(Rule, r =>
            {
                r.Signal = PostgresSignalNames.PoolUsage;
                r.Above = 0.9;
                r.Clear = 0.5;
                r.Heal.Add(PostgresHealerNames.ClearPool);
            })
            .ConfigureHealer(PostgresHealerNames.ClearPool, p =>
            {
                p.MaxAttempts = 1;
                p.Window = TimeSpan.FromMinutes(10);
                p.Cooldown = EngineHarness.Interval;
                p.MaxBackoff = EngineHarness.Interval;
            }));

        var idle = await harness.TickAsync();
        Assert.Equal(0, idle.ValueOf(PostgresSignalNames.PoolUsage, "main-db"));
        Assert.Equal(0, idle.ValueOf(PostgresSignalNames.PoolPending, "main-db"));

        // Hold every connection of the pool, then ask for one more: it queues inside Npgsql.
        var held1 = await appDataSource.OpenConnectionAsync(ct);
        var held2 = await appDataSource.OpenConnectionAsync(ct);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var waiting = appDataSource.OpenConnectionAsync(giveUp.Token).AsTask();
        Assert.False(waiting.IsCompleted);

        var saturated = await harness.TickAsync();
        Assert.Equal(1.0, saturated.ValueOf(PostgresSignalNames.PoolUsage, "main-db"));
        Assert.True(saturated.ValueOf(PostgresSignalNames.PoolPending, "main-db") > 0);

        // The server probe has its own connection: it answers although the app's pool is exhausted.
        Assert.DoesNotContain(saturated.ProbeFailures, f => f.Resource == "main-db");
        Assert.Equal(0, saturated.ValueOf(SignalNames.ProbeFailed, "main-db"));
        Assert.NotNull(saturated.ValueOf(PostgresSignalNames.ConnectionsUsage, "main-db"));
        Assert.True(EngineHarness.IsOpen(saturated, Rule));

        // Past the first tick, the violation is healed in the tick that opens it.
        var heal = Assert.Single(saturated.Heals);
        Assert.Equal(PostgresHealerNames.ClearPool, heal.Healer);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);

        // Still saturated (clearing cannot free connections the app holds): cooldown and backoff are one interval, but the
        // policy allows one attempt per 10 minutes, so for the next 100 s of fake time nothing runs again.
        ReconciliationReport after = saturated;
        for (var i = 0; i < 10; i++)
        {
            after = await harness.TickAsync();
            Assert.Empty(after.Heals);
            Assert.Equal(1.0, after.ValueOf(PostgresSignalNames.PoolUsage, "main-db"));
        }

        // Reported, not retried forever.
        Assert.Equal(ViolationState.Exhausted, EngineHarness.ViolationOf(after, Rule)?.State);

        // Returning one connection serves the waiting request (cleared: a fresh physical connection).
        await held1.DisposeAsync();
        await using var served = await waiting.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await using (var command = new NpgsqlCommand("SELECT 1", served))
        {
            Assert.Equal(1, await command.ExecuteScalarAsync(ct));
        }

        var drained = await harness.TickAsync();
        Assert.Equal(0, drained.ValueOf(PostgresSignalNames.PoolPending, "main-db"));
        await held2.DisposeAsync();
    }

    [Fact]
    public async Task A_data_source_named_like_its_resource_is_matched_without_setting_PoolName()
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(A_data_source_named_like_its_resource_is_matched_without_setting_PoolName));
        var builder = new NpgsqlDataSourceBuilder(database) { Name = "named-db" };
        builder.ConnectionStringBuilder.MaxPoolSize = 4;
        await using var appDataSource = builder.Build();
        await using var harness = EngineHarness.Create(b => b.AddPostgres("named-db", appDataSource));

        await using var held = await appDataSource.OpenConnectionAsync(ct);
        var report = await harness.TickAsync();

        Assert.Equal(0.25, report.ValueOf(PostgresSignalNames.PoolUsage, "named-db"));
    }
}
