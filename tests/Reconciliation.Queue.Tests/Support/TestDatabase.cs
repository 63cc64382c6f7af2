using System.Collections.Concurrent;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Queue.Tests.Support;

/// <summary>One database on the shared PostgreSQL per test class (by scope name), created on first use.</summary>
internal static class TestDatabase
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<NpgsqlDataSource>>> Sources = new(StringComparer.Ordinal);

    public static async Task<NpgsqlDataSource> GetAsync(string scope)
    {
        // RequireServer first (outside the cache) so a missing server skips, and is not cached as a failure.
        var pg = await RequireServer.PostgresAsync();
        return await Sources.GetOrAdd(scope, s => new Lazy<Task<NpgsqlDataSource>>(async () =>
        {
            var connectionString = await pg.CreateDatabaseAsync(s);
            ConnectionStrings[s] = connectionString;
            return NpgsqlDataSource.Create(connectionString);
        })).Value;
    }

    private static readonly ConcurrentDictionary<string, string> ConnectionStrings = new(StringComparer.Ordinal);

    /// <summary>A new data source on the scope's database (with its password), changed by <paramref name="configure"/>: another "process".</summary>
    public static async Task<NpgsqlDataSource> CreateOtherAsync(string scope, Action<NpgsqlConnectionStringBuilder> configure)
    {
        await GetAsync(scope);
        var builder = new NpgsqlConnectionStringBuilder(ConnectionStrings[scope]);
        configure(builder);
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>The scope's connection string, with its password (for child processes).</summary>
    public static async Task<string> ConnectionStringAsync(string scope)
    {
        await GetAsync(scope);
        return ConnectionStrings[scope];
    }

    public static async Task<long> ScalarAsync(this NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        return Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(this NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Re-checks a condition on the real server until it holds (see the shared <see cref="Reconciliation.Tests.Eventually"/>).</summary>
    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task>? between = null) =>
        Reconciliation.Tests.Eventually.HoldsAsync(condition, timeout, between);
}
