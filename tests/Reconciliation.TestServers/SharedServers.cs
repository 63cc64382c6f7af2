namespace Reconciliation.TestServers;

/// <summary>
/// One PostgreSQL and one Redis per test process, started on first use and torn down at exit.
/// Test classes share them through their own database (<see cref="PostgresServer.CreateDatabaseAsync"/>)
/// and key prefix (<see cref="RedisServer.KeyPrefix"/>). Tests that stop a server or change its
/// global configuration start a dedicated instance instead.
/// </summary>
public static class SharedServers
{
    private static readonly Lazy<Task<PostgresServer>> SharedPostgres = new(() => PostgresServer.StartAsync());
    private static readonly Lazy<Task<RedisServer>> SharedRedis = new(() => RedisServer.StartAsync());

    /// <summary>The shared PostgreSQL; throws <see cref="TestServerUnavailableException"/> when it cannot start.</summary>
    public static Task<PostgresServer> PostgresAsync() => SharedPostgres.Value;

    /// <summary>The shared Redis; throws <see cref="TestServerUnavailableException"/> when it cannot start.</summary>
    public static Task<RedisServer> RedisAsync() => SharedRedis.Value;
}
