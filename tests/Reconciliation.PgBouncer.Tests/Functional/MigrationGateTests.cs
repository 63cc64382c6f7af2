using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>The migration gate against the real pooler: transaction-mode pool refused, session-mode and direct connections pass.</summary>
public sealed class MigrationGateTests
{
    [Fact]
    public async Task Gate_refuses_a_transaction_mode_pool_and_passes_a_session_mode_one_and_a_direct_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, backend) = await PoolerFixture.StartAsync(nameof(MigrationGateTests), ("txdb", "transaction", 2), ("sessdb", "session", 2), ("stmtdb", "statement", 2));
        await using var _ = pooler;
        await using var harness = EngineHarness.Create(b => b.AddPgBouncer("pooler", pooler.AdminConnectionString, o => o.Databases.Add("sessdb")));
        var gate = harness.Services.GetRequiredService<PgBouncerMigrationGate>();

        var transaction = await gate.CheckAsync(pooler.ConnectionStringFor("txdb"), ct);
        Assert.False(transaction.IsSafe);
        Assert.True(transaction.ThroughPooler);
        Assert.Equal("transaction", transaction.PoolMode);
        Assert.Contains("migrate through a session-mode pool or directly to PostgreSQL", Assert.Single(transaction.Reasons), StringComparison.Ordinal);

        var statement = await gate.CheckAsync(pooler.ConnectionStringFor("stmtdb"), ct);
        Assert.False(statement.IsSafe);
        Assert.Equal("statement", statement.PoolMode);

        var session = await gate.CheckAsync(pooler.ConnectionStringFor("sessdb"), ct);
        Assert.True(session.IsSafe, session.ToString());
        Assert.Equal("session", session.PoolMode);

        // "localhost" is the same pooler as 127.0.0.1.
        var viaName = new NpgsqlConnectionStringBuilder(pooler.ConnectionStringFor("txdb")) { Host = "localhost" }.ConnectionString;
        Assert.False((await gate.CheckAsync(viaName, ct)).IsSafe);

        var direct = await gate.CheckAsync(backend.ConnectionStringFor("postgres"), ct);
        Assert.True(direct.IsSafe);
        Assert.False(direct.ThroughPooler);

        var unknown = await gate.CheckAsync(pooler.ConnectionStringFor("nosuchdb"), ct);
        Assert.False(unknown.IsSafe);
        Assert.Contains("has no database 'nosuchdb'", Assert.Single(unknown.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_live_pool_mode_of_the_migration_user_wins_over_the_databases_declared_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(The_live_pool_mode_of_the_migration_user_wins_over_the_databases_declared_one), ("txdb", "transaction", 2));
        await using var _ = pooler;
        await using var gate = new PgBouncerMigrationGate(pooler.AdminConnectionString);

        // A live pool exists for (txdb, pgb_md5) once that user connected: its pool_mode column is the effective one.
        await using (var client = await SaturationTests.OpenAndQueryAsync(pooler.ConnectionStringFor("txdb", Reconciliation.TestServers.PgBouncerServer.Md5User, pooling: false), ct))
        {
            var result = await gate.CheckAsync(pooler.ConnectionStringFor("txdb", Reconciliation.TestServers.PgBouncerServer.Md5User), ct);
            Assert.Equal("transaction", result.PoolMode);
            Assert.False(result.IsSafe);
        }
    }

    [Fact]
    public async Task A_gate_that_cannot_reach_the_console_fails_closed_without_the_password()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_gate_that_cannot_reach_the_console_fails_closed_without_the_password), ("app", "session", 2));
        var migration = pooler.ConnectionStringFor("app");
        var admin = pooler.AdminConnectionString;
        var password = pooler.AdminPassword;
        await pooler.DisposeAsync();
        await using var gate = new PgBouncerMigrationGate(admin, TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsAnyAsync<PgBouncerException>(() => gate.CheckAsync(migration, TestContext.Current.CancellationToken));
        Assert.DoesNotContain(password, error.ToString(), StringComparison.Ordinal);
    }
}
