using Npgsql;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>
/// A dedicated PgBouncer per test in front of the shared PostgreSQL, with fresh backend databases: PgBouncer starts in
/// milliseconds, and a test that kills or reconnects a database must not disturb another's.
/// Skipped locally (failed under <c>CI=true</c>) when PgBouncer or PostgreSQL is not installed.
/// </summary>
internal static class PoolerFixture
{
    public static async Task<(PgBouncerServer Pooler, PostgresServer Backend)> StartAsync(string scope, params (string Name, string? PoolMode, int? PoolSize)[] databases)
    {
        var backend = await RequireServer.PostgresAsync();
        var entries = new List<PgBouncerDatabase>();
        foreach (var (name, mode, size) in databases)
        {
            var backendDatabase = new NpgsqlConnectionStringBuilder(await backend.CreateDatabaseAsync(scope + "_" + name)).Database!;
            entries.Add(new PgBouncerDatabase(name, backendDatabase, mode, size));
        }

        return (await StartAsync(backend, new PgBouncerServerOptions { Databases = entries }), backend);
    }

    public static async Task<PgBouncerServer> StartAsync(PostgresServer backend, PgBouncerServerOptions options)
    {
        try
        {
            return await PgBouncerServer.StartAsync(backend, options, TestContext.Current.CancellationToken);
        }
        catch (TestServerUnavailableException e) when (!TestServerUnavailableException.IsCi)
        {
            Assert.Skip(e.Message);
            throw;
        }
    }
}
