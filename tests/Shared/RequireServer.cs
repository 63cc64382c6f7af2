using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.Tests;

/// <summary>
/// Gets a real server for a test. Under <c>CI=true</c> a server that cannot start fails the test with the
/// reason; locally the test is skipped with a message naming the command that installs the servers.
/// </summary>
internal static class RequireServer
{
    public static Task<PostgresServer> PostgresAsync() => OrSkip(SharedServers.PostgresAsync);

    public static Task<RedisServer> RedisAsync() => OrSkip(SharedServers.RedisAsync);

    public static Task<PostgresServer> DedicatedPostgresAsync() => OrSkip(() => PostgresServer.StartAsync());

    public static Task<RedisServer> DedicatedRedisAsync(RedisServerOptions? options = null) => OrSkip(() => RedisServer.StartAsync(options));

    private static async Task<T> OrSkip<T>(Func<Task<T>> start)
    {
        try
        {
            return await start();
        }
        catch (TestServerUnavailableException e) when (!TestServerUnavailableException.IsCi)
        {
            Assert.Skip(e.Message);
            throw; // unreachable: Assert.Skip throws
        }
    }
}
