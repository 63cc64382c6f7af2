using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.TestServers.Tests;

public sealed class PgBouncerServerTests
{
    private static async Task<(PgBouncerServer Pooler, string BackendDatabase)> StartAsync(string scope)
    {
        var backend = await RequireServer.PostgresAsync();
        var database = new NpgsqlConnectionStringBuilder(await backend.CreateDatabaseAsync(scope)).Database!;
        try
        {
            var pooler = await PgBouncerServer.StartAsync(backend, new PgBouncerServerOptions { Databases = [new("app", database, "transaction", 3)] },
                TestContext.Current.CancellationToken);
            return (pooler, database);
        }
        catch (TestServerUnavailableException e) when (!TestServerUnavailableException.IsCi)
        {
            Assert.Skip(e.Message);
            throw;
        }
    }

    [Theory]
    [InlineData(PgBouncerServer.ScramUser)]
    [InlineData(PgBouncerServer.Md5User)]
    [InlineData(PgBouncerServer.CleartextUser)]
    public async Task Npgsql_reaches_the_backend_database_through_the_pooler_as_each_user(string user)
    {
        var (pooler, database) = await StartAsync(nameof(Npgsql_reaches_the_backend_database_through_the_pooler_as_each_user));
        await using var _ = pooler;

        await using var connection = new NpgsqlConnection(pooler.ConnectionStringFor("app", user, pooling: false));
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);

        Assert.Equal(database, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Refuses_a_wrong_password()
    {
        var (pooler, _) = await StartAsync(nameof(Refuses_a_wrong_password));
        await using var _ = pooler;
        var wrong = new NpgsqlConnectionStringBuilder(pooler.ConnectionStringFor("app", PgBouncerServer.Md5User, pooling: false)) { Password = "wrong" };

        await using var connection = new NpgsqlConnection(wrong.ConnectionString);
        await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Stops_and_starts_again_on_the_same_port_and_dispose_removes_everything()
    {
        var (pooler, _) = await StartAsync(nameof(Stops_and_starts_again_on_the_same_port_and_dispose_removes_everything));
        var ct = TestContext.Current.CancellationToken;
        var app = pooler.ConnectionStringFor("app", pooling: false);

        await pooler.StopAsync(ct);
        Assert.False(pooler.IsRunning);
        await using (var down = new NpgsqlConnection(app))
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => down.OpenAsync(ct));
        }

        await pooler.StartAgainAsync(ct);
        await using (var up = new NpgsqlConnection(app))
        {
            await up.OpenAsync(ct);
        }

        await pooler.DisposeAsync();
        Assert.False(pooler.IsRunning);
        await using var gone = new NpgsqlConnection(app);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => gone.OpenAsync(ct));
    }
}
