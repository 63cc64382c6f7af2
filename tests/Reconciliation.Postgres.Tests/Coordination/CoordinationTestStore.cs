using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Reconciliation.TestServers;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>A coordination store over a fresh database of a real server, for one test.</summary>
internal sealed class CoordinationTestStore : IAsyncDisposable
{
    private CoordinationTestStore(string connectionString, PostgresCoordinationStore store)
    {
        ConnectionString = connectionString;
        Store = store;
        Journal = new PostgresHealJournal(store);
        Lease = new PostgresHealLease(store, () => "replica-a");
        State = new PostgresRuleStateStore(store);
    }

    public string ConnectionString { get; }

    public PostgresCoordinationStore Store { get; }

    public PostgresHealJournal Journal { get; }

    public PostgresHealLease Lease { get; }

    public PostgresRuleStateStore State { get; }

    /// <summary>The store's clock. A fake one by default, so a handle renews only when a test moves it.</summary>
    public TimeProvider Time => Store.Time;

    public static async Task<CoordinationTestStore> CreateAsync(PostgresServer server, string scope, Action<PostgresCoordinationOptions>? configure = null,
        TimeProvider? time = null)
    {
        var connectionString = await server.CreateDatabaseAsync(scope);
        return Over(connectionString, configure, time);
    }

    /// <summary>Another coordinator (another replica's view) on the same database.</summary>
    public static CoordinationTestStore Over(string connectionString, Action<PostgresCoordinationOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new PostgresCoordinationOptions();
        configure?.Invoke(options);
        var store = new PostgresCoordinationStore(PostgresCoordinationStore.CreateDataSource(connectionString), ownsDataSource: true, options,
            time ?? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), logger: null);
        return new CoordinationTestStore(connectionString, store);
    }

    public PostgresHealLease LeaseFor(string holder) => new(Store, () => holder);

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
