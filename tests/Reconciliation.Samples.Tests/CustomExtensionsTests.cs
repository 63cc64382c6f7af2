using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Reconciliation.Samples.CustomExtensions;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Samples.Tests;

/// <summary>The custom probe and healer that docs/custom-probes-and-healers.md shows, run on a real PostgreSQL.</summary>
public sealed class CustomExtensionsTests
{
    [Fact]
    public async Task The_documented_probe_and_healer_terminate_only_the_leaky_applications_idle_transactions()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync(nameof(CustomExtensionsTests), ct);
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "docs-reconciler" }.ConnectionString);
        await using var leakyOne = await LeakAsync(database, "docs-leaky", ct);
        await using var leakyTwo = await LeakAsync(database, "docs-leaky", ct);
        await using var bystander = await LeakAsync(database, "docs-bystander", ct);

        var clock = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(clock);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddProbe(_ => new LeakedTransactionsProbe(dataSource, "docs-db", "docs-leaky"))
            .AddHealer(_ => new TerminateLeakedTransactionsHealer(dataSource, "docs-db", "docs-leaky"))
            .AllowDestructive(TerminateLeakedTransactionsHealer.HealerName)
            .AddRule("leaked", r =>
            {
                r.Signal = LeakedTransactionsProbe.Signal;
                r.Above = 0;
                r.Heal.Add(TerminateLeakedTransactionsHealer.HealerName);
            });
        await using var provider = services.BuildServiceProvider();
        var reconciler = provider.GetRequiredService<IReconciler>();

        var first = await reconciler.ReconcileOnceAsync(ct); // opens; no heal in the first tick (warm-up)
        Assert.Equal(2, first.ValueOf(LeakedTransactionsProbe.Signal, "docs-db"));
        Assert.Single(first.Violations);

        clock.Advance(TimeSpan.FromSeconds(10));
        var second = await reconciler.ReconcileOnceAsync(ct);
        var heal = Assert.Single(second.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.Equal("terminated 2 session(s)", heal.Outcome.Reason);

        clock.Advance(TimeSpan.FromSeconds(10));
        var third = await reconciler.ReconcileOnceAsync(ct);
        Assert.Equal(0, third.ValueOf(LeakedTransactionsProbe.Signal, "docs-db"));
        Assert.True(third.IsHealthy);

        // The other application's session is untouched: its transaction still answers.
        await using var stillAlive = new NpgsqlCommand("SELECT 1", bystander);
        Assert.Equal(1, (int)(await stillAlive.ExecuteScalarAsync(ct))!);
        await using var terminated = new NpgsqlCommand("SELECT 1", leakyOne);
        await Assert.ThrowsAnyAsync<Exception>(() => terminated.ExecuteScalarAsync(ct));
    }

    private static async Task<NpgsqlConnection> LeakAsync(string database, string applicationName, CancellationToken ct)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = applicationName, Pooling = false }.ConnectionString);
        await connection.OpenAsync(ct);
        await using var begin = new NpgsqlCommand("BEGIN; SELECT 1", connection); // Npgsql sends BEGIN lazily: run a statement
        await begin.ExecuteNonQueryAsync(ct);
        return connection;
    }
}
