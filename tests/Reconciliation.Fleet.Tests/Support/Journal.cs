using System.Globalization;
using Npgsql;
using Xunit;

namespace Reconciliation.Fleet.Tests.Support;

/// <summary>One row of <c>reconciliation.heal_journal</c>, read straight from the server.</summary>
internal sealed record JournalRow(Guid Id, string Healer, string Resource, string Rule, string? Replica, long? LeaseToken, string Outcome,
    bool IsVerdict, DateTimeOffset StartedAt)
{
    public bool IsAttempt => !IsVerdict && Outcome is "Healed" or "Failed";
}

/// <summary>Reads the PostgreSQL coordination tables directly (superuser, unpooled), independently of the code under test.</summary>
internal static class Journal
{
    public const string Schema = "reconciliation";

    public static async Task<IReadOnlyList<JournalRow>> RowsAsync(string connectionString)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(
            $"SELECT id, healer, resource, rule, replica, lease_token, outcome, is_verdict, started_at FROM {Schema}.heal_journal ORDER BY started_at, recorded_at",
            connection);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var rows = new List<JournalRow>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            rows.Add(new JournalRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetInt64(5), reader.GetString(6),
                reader.GetBoolean(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return rows;
    }

    /// <summary>The journal's rows, or none while its table does not exist yet (the store creates it at start).</summary>
    public static async Task<IReadOnlyList<JournalRow>> RowsOrNoneAsync(string connectionString)
    {
        try
        {
            return await RowsAsync(connectionString);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            return [];
        }
    }

    /// <summary>The lease row of <paramref name="resource"/>: holder, token, expiry (server clock), or null.</summary>
    public static async Task<(string Holder, long Token, DateTimeOffset ExpiresAt)?> LeaseAsync(string connectionString, string resource)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand($"SELECT holder, token, expires_at FROM {Schema}.heal_lease WHERE resource = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = resource });
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        return await reader.ReadAsync(TestContext.Current.CancellationToken)
            ? (reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2))
            : null;
    }

    /// <summary>The saved rule state of <paramref name="replica"/> as JSON text, or null.</summary>
    public static async Task<string?> RuleStateAsync(string connectionString, string replica)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand($"SELECT state::text FROM {Schema}.rule_state WHERE replica = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = replica });
        try
        {
            return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken) as string;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            return null;
        }
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "test-observer" }.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        return connection;
    }
}
