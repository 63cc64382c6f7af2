using Npgsql;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>Asks the server directly (superuser, unpooled) what is true, independently of the code under test.</summary>
internal static class ServerQueries
{
    public static async Task<long> CountAsync(string adminConnectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false, ApplicationName = "test-observer" }.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Sessions of <paramref name="application"/> in the current database idle in a transaction for at least <paramref name="seconds"/> (server clock).</summary>
    public static Task<long> IdleInTransactionAsync(string connectionString, string application, double seconds) =>
        CountAsync(connectionString,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND state = 'idle in transaction' AND state_change < now() - make_interval(secs => $2)",
            application, seconds);

    public static Task<long> SessionsAsync(string connectionString, string application) =>
        CountAsync(connectionString, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", application);

    /// <summary>Opens a session of <paramref name="application"/> that starts a transaction and then sits idle in it.</summary>
    public static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> OpenIdleTransactionAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
        }

        var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);

        // Npgsql sends BEGIN with the next command: run one so the server really is in a transaction.
        await using var command = new NpgsqlCommand("SELECT 1", connection, transaction);
        await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        return (connection, transaction);
    }
}
