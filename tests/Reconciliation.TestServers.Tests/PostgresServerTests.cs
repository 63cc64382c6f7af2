using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.TestServers.Tests;

public sealed class PostgresServerTests
{
    [Fact]
    public async Task Select_version_through_Npgsql_on_a_real_server()
    {
        var server = await RequireServer.PostgresAsync();
        var connectionString = await server.CreateDatabaseAsync(nameof(PostgresServerTests));

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT version()");
        var version = (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(version);
        Assert.StartsWith("PostgreSQL", version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_scope_gets_its_own_database()
    {
        var server = await RequireServer.PostgresAsync();
        var first = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("same-scope")).Database;
        var second = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("same-scope")).Database;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task Refuses_a_wrong_password()
    {
        var server = await RequireServer.PostgresAsync();
        var builder = new NpgsqlConnectionStringBuilder(server.AdminConnectionString) { Password = "wrong" };

        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync(TestContext.Current.CancellationToken));
        Assert.Equal("28P01", error.SqlState); // invalid_password: host connections really use scram, not trust
    }

    [Fact]
    public async Task A_dedicated_server_stops_and_starts_again_on_the_same_port_with_its_data()
    {
        await using var server = await RequireServer.DedicatedPostgresAsync();
        var ct = TestContext.Current.CancellationToken;
        await Execute(server.AdminConnectionString, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42);", ct);

        await server.StopAsync(ct);
        await using (var down = new NpgsqlConnection(server.AdminConnectionString))
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => down.OpenAsync(ct));
        }

        await server.StartAgainAsync(ct);
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT id FROM kept", connection);
        Assert.Equal(42, (int)(await command.ExecuteScalarAsync(ct))!);
    }

    [Fact]
    public async Task Dispose_stops_the_server_and_deletes_its_directory()
    {
        var server = await RequireServer.DedicatedPostgresAsync();
        var port = server.Port;
        await server.DisposeAsync();

        Assert.False(server.IsRunning);
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync(TestContext.Current.CancellationToken));
        Assert.NotEqual(0, port);
    }

    private static async Task Execute(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
