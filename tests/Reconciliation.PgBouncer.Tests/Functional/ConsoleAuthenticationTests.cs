using Npgsql;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.Functional;

/// <summary>Our console client against the real PgBouncer: each authentication method, TLS, wrong passwords, pipelined SHOW commands, quoted names.</summary>
public sealed class ConsoleAuthenticationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static async Task<IReadOnlyList<PgBouncerResultSet>> QueryAsync(string connectionString, params string[] commands)
    {
        var endpoint = PgBouncerEndpoint.Parse(connectionString.Replace(";Database=pgbouncer", string.Empty, StringComparison.OrdinalIgnoreCase), "auth-test");
        await using var connection = await PgBouncerConsoleConnection.OpenAsync(endpoint, Timeout, TestContext.Current.CancellationToken);
        return await connection.QueryAsync(commands, TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData(PgBouncerServer.AdminUser)]   // SCRAM-SHA-256 (admin_users)
    [InlineData(PgBouncerServer.ScramUser)]   // SCRAM-SHA-256 (stats_users)
    [InlineData(PgBouncerServer.Md5User)]     // md5
    [InlineData(PgBouncerServer.CleartextUser)] // cleartext password
    public async Task Each_authentication_method_logs_in_and_reads_SHOW_VERSION(string user)
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Each_authentication_method_logs_in_and_reads_SHOW_VERSION), ("app", null, null));
        await using var _ = pooler;

        var results = await QueryAsync(pooler.ConnectionStringFor("pgbouncer", user, pooling: false), "SHOW VERSION");

        Assert.Contains("PgBouncer", Assert.Single(results[0].Rows)[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PgBouncerServer.AdminUser)]
    [InlineData(PgBouncerServer.Md5User)]
    [InlineData(PgBouncerServer.CleartextUser)]
    public async Task A_wrong_password_is_refused_with_the_poolers_error_and_never_echoed(string user)
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(A_wrong_password_is_refused_with_the_poolers_error_and_never_echoed), ("app", null, null));
        await using var _ = pooler;
        var wrong = "wrong-" + Guid.NewGuid().ToString("N");
        var connectionString = new NpgsqlConnectionStringBuilder(pooler.ConnectionStringFor("pgbouncer", user, pooling: false)) { Password = wrong }.ConnectionString;

        var error = await Assert.ThrowsAsync<PgBouncerErrorException>(() => QueryAsync(connectionString, "SHOW VERSION"));

        // PgBouncer 1.18 reports a failed login as 08P01 (protocol violation), not PostgreSQL's 28P01.
        Assert.Contains("authentication failed", error.ServerMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(pooler.PasswordOf(user), error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_required_by_the_pooler_works_with_SslMode_Require_and_a_plain_login_is_refused()
    {
        var backend = await Reconciliation.Tests.RequireServer.PostgresAsync();
        await using var pooler = await PoolerFixture.StartAsync(backend, new PgBouncerServerOptions { RequireTls = true });
        var tls = pooler.ConnectionStringFor("pgbouncer", PgBouncerServer.AdminUser, pooling: false);
        Assert.Contains("SSL Mode=Require", tls, StringComparison.Ordinal);

        var results = await QueryAsync(tls, "SHOW VERSION");
        Assert.Single(results[0].Rows);

        var plain = new NpgsqlConnectionStringBuilder(tls) { SslMode = SslMode.Disable }.ConnectionString;
        await Assert.ThrowsAsync<PgBouncerErrorException>(() => QueryAsync(plain, "SHOW VERSION"));

        // VerifyFull checks the certificate: the pooler's is self-signed, so it is refused.
        var verify = new NpgsqlConnectionStringBuilder(tls) { SslMode = SslMode.VerifyFull }.ConnectionString;
        await Assert.ThrowsAsync<PgBouncerException>(() => QueryAsync(verify, "SHOW VERSION"));
    }

    [Fact]
    public async Task The_console_refuses_several_statements_in_one_query_so_they_are_pipelined_and_all_answered()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(The_console_refuses_several_statements_in_one_query_so_they_are_pipelined_and_all_answered), ("app", null, null));
        await using var _ = pooler;

        // Why the snapshot pipelines: one Query message with several statements is refused by PgBouncer 1.18's console.
        var refused = await Assert.ThrowsAsync<PgBouncerErrorException>(() => QueryAsync(pooler.AdminConnectionString, "SHOW POOLS; SHOW STATS;"));
        Assert.Contains("invalid command", refused.ServerMessage, StringComparison.Ordinal);

        var results = await QueryAsync(pooler.AdminConnectionString, PgBouncerSnapshot.Commands);
        Assert.Equal(PgBouncerSnapshot.Commands.Length, results.Count);
        Assert.All(results, r => Assert.NotEmpty(r.Rows));
        var snapshot = PgBouncerSnapshot.Parse(results);
        Assert.NotNull(snapshot.Database("app"));
        Assert.Equal(100, snapshot.MaxClientConnections);
    }

    [Fact]
    public async Task Database_names_are_quoted_for_console_commands()
    {
        var (pooler, _) = await PoolerFixture.StartAsync(nameof(Database_names_are_quoted_for_console_commands), ("app", null, null));
        await using var _ = pooler;

        var results = await QueryAsync(pooler.AdminConnectionString, "PAUSE " + PgBouncerResource.Quote("app"), "SHOW DATABASES", "RESUME " + PgBouncerResource.Quote("app"));
        var databases = results[1];
        var app = databases.Rows.Single(r => databases.Text(r, "name") == "app");
        Assert.Equal("1", databases.Text(app, "paused"));

        var unknown = await Assert.ThrowsAsync<PgBouncerErrorException>(() => QueryAsync(pooler.AdminConnectionString, "RECONNECT " + PgBouncerResource.Quote("no\"such")));
        Assert.DoesNotContain("app", unknown.ServerMessage, StringComparison.Ordinal);
    }
}
