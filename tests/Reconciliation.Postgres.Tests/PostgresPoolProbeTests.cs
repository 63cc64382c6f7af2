using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Postgres.Tests.Functional;
using Xunit;

namespace Reconciliation.Postgres.Tests;

/// <summary>
/// The pool probe reads Npgsql's own metrics for its data source only. No server is needed: an unused pool reports its
/// metrics too (the server probe of these registrations fails, which the pool probe does not care about).
/// </summary>
public sealed class PostgresPoolProbeTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=app;Password=not-used;Maximum Pool Size=7;Timeout=1";

    [Fact]
    public async Task Reads_each_pool_by_its_name_including_Npgsqls_default_names()
    {
        await using var named = new NpgsqlDataSourceBuilder(ConnectionString) { Name = "named-pool" }.Build();
        await using var unnamed = NpgsqlDataSource.Create(ConnectionString + ";Application Name=unnamed-pool-test");
        await using var persisted = NpgsqlDataSource.Create(ConnectionString + ";Persist Security Info=true;Application Name=persist-pool-test");
        await using var harness = EngineHarness.Create(b => b
            .AddPostgres("named", named, o => o.PoolName = "named-pool")
            .AddPostgres("unnamed", unnamed)
            .AddPostgres("persisted", persisted));

        var report = await harness.TickAsync();

        foreach (var resource in new[] { "named", "unnamed", "persisted" })
        {
            Assert.Equal(0, report.ValueOf(PostgresSignalNames.PoolUsage, resource));
            Assert.Equal(0, report.ValueOf(PostgresSignalNames.PoolPending, resource));
            Assert.DoesNotContain("not-used", harness.Services.GetRequiredKeyedService<PostgresResource>(resource).PoolName, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Name == "PoolMetricsMissing");
    }

    [Fact]
    public async Task A_custom_name_without_PoolName_gives_no_reading_and_one_warning()
    {
        await using var dataSource = new NpgsqlDataSourceBuilder(ConnectionString) { Name = "custom-unknown" }.Build();
        await using var harness = EngineHarness.Create(b => b.AddPostgres("db", dataSource));

        var first = await harness.TickAsync();
        await harness.TickAsync();

        Assert.Null(first.ValueOf(PostgresSignalNames.PoolUsage, "db"));
        Assert.Null(first.ValueOf(PostgresSignalNames.PoolPending, "db"));
        var warning = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "PoolMetricsMissing");
        Assert.Equal(106, warning.Id.Id);
    }
}
