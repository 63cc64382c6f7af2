using System.Net;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.PgBouncer.Telemetry;

namespace Reconciliation.PgBouncer;

/// <summary>
/// "May this migration run through this connection?" A migration holds a session across statements (advisory locks,
/// <c>SET</c>, temporary tables, a transaction per step); through a transaction- or statement-mode pool, the pooler hands
/// each transaction or statement to whichever server connection is free, so the session is lost midway. The gate reads
/// the pooler's effective pool mode for the migration connection's database and user (<c>SHOW POOLS</c>, then
/// <c>SHOW USERS</c>, <c>SHOW DATABASES</c>, <c>SHOW CONFIG</c>) in one round trip and refuses anything but session mode.
/// A connection that does not go to this pooler's host and port passes (it goes directly to PostgreSQL).
/// Resolve it from DI (<c>GetRequiredService&lt;PgBouncerMigrationGate&gt;()</c> for the first registration,
/// <c>GetRequiredKeyedService&lt;PgBouncerMigrationGate&gt;("pooler")</c> by name) or create one.
/// </summary>
public sealed class PgBouncerMigrationGate : IAsyncDisposable
{
    internal static readonly string[] Commands = ["SHOW POOLS", "SHOW USERS", "SHOW DATABASES", "SHOW CONFIG"];

    private readonly PgBouncerResource _pooler;
    private readonly bool _ownsResource;

    /// <summary>Creates a gate outside DI (a migration tool) for the pooler whose admin console <paramref name="adminConnectionString"/> reaches.</summary>
    /// <exception cref="ArgumentException">The connection string is unusable (the message never echoes it).</exception>
    public PgBouncerMigrationGate(string adminConnectionString, TimeSpan? commandTimeout = null, ILoggerFactory? loggerFactory = null)
        : this(CreateResource(adminConnectionString, commandTimeout, loggerFactory), ownsResource: true)
    {
    }

    internal PgBouncerMigrationGate(PgBouncerResource pooler, bool ownsResource)
    {
        _pooler = pooler;
        _ownsResource = ownsResource;
    }

    /// <summary>The pooler's name.</summary>
    public string Pooler => _pooler.Name;

    /// <summary>
    /// Checks the connection a migration will use. Console failures propagate as <see cref="PgBouncerException"/>
    /// (a deploy step should fail closed).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="migrationConnectionString"/> is not a valid connection string (never echoed).</exception>
    public async Task<PgBouncerMigrationGateResult> CheckAsync(string migrationConnectionString, CancellationToken cancellationToken = default)
    {
        NpgsqlConnectionStringBuilder migration;
        try
        {
            migration = new NpgsqlConnectionStringBuilder(migrationConnectionString);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException("The migration connection string is not a valid connection string.", nameof(migrationConnectionString));
        }

        var user = migration.Username ?? string.Empty;
        var database = migration.Database is { Length: > 0 } named ? named : user;
        if (!await GoesThroughPoolerAsync(migration, cancellationToken).ConfigureAwait(false))
        {
            return Report(new PgBouncerMigrationGateResult(_pooler.Name, database, throughPooler: false, poolMode: null, reasons: []));
        }

        var results = await _pooler.ExecuteAsync(Commands, cancellationToken).ConfigureAwait(false);
        var mode = EffectivePoolMode(results, database, user);
        var reasons = new List<string>();
        if (mode is null)
        {
            reasons.Add($"the pooler '{_pooler.Name}' has no database '{database}'; the migration could not connect through it");
        }
        else if (!string.Equals(mode, "session", StringComparison.OrdinalIgnoreCase))
        {
            reasons.Add($"database '{database}' is pooled in {mode} mode on pooler '{_pooler.Name}': a migration holds a session across statements " +
                "and would lose it midway; migrate through a session-mode pool or directly to PostgreSQL");
        }

        return Report(new PgBouncerMigrationGateResult(_pooler.Name, database, throughPooler: true, mode, reasons));
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownsResource ? _pooler.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Pool mode for (database, user): the live pool's, else the user's, else the database's, else the pooler default; null for an unknown database.</summary>
    internal static string? EffectivePoolMode(IReadOnlyList<PgBouncerResultSet> results, string database, string user)
    {
        var (pools, users, databases, config) = (results[0], results[1], results[2], results[3]);
        foreach (var row in pools.Rows)
        {
            if (string.Equals(pools.Text(row, "database"), database, StringComparison.Ordinal)
                && string.Equals(pools.Text(row, "user"), user, StringComparison.Ordinal)
                && pools.HasColumn("pool_mode") && pools.Text(row, "pool_mode") is { Length: > 0 } live)
            {
                return live;
            }
        }

        string? databaseMode = null;
        var found = false;
        foreach (var row in databases.Rows)
        {
            if (string.Equals(databases.Text(row, "name"), database, StringComparison.Ordinal))
            {
                found = true;
                databaseMode = databases.Text(row, "pool_mode");
            }
        }

        if (!found)
        {
            return null;
        }

        if (users.HasColumn("pool_mode"))
        {
            foreach (var row in users.Rows)
            {
                if (string.Equals(users.Text(row, "name"), user, StringComparison.Ordinal) && users.Text(row, "pool_mode") is { Length: > 0 } userMode)
                {
                    return userMode;
                }
            }
        }

        if (databaseMode is { Length: > 0 })
        {
            return databaseMode;
        }

        foreach (var row in config.Rows)
        {
            if (string.Equals(config.Text(row, "key"), "pool_mode", StringComparison.Ordinal) && config.Text(row, "value") is { Length: > 0 } defaultMode)
            {
                return defaultMode;
            }
        }

        return "session";
    }

    private static PgBouncerResource CreateResource(string adminConnectionString, TimeSpan? commandTimeout, ILoggerFactory? loggerFactory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adminConnectionString);
        var options = new PgBouncerReconciliationOptions
        {
            AdminConnectionString = adminConnectionString,
            CommandTimeout = commandTimeout ?? PgBouncerReconciliationOptions.DefaultCommandTimeout,
        };
        return new PgBouncerResource("pgbouncer", options, TimeProvider.System, loggerFactory?.CreateLogger("Reconciliation.PgBouncer"));
    }

    private async Task<bool> GoesThroughPoolerAsync(NpgsqlConnectionStringBuilder migration, CancellationToken cancellationToken)
    {
        var pooler = _pooler.Endpoint;
        if (migration.Port != pooler.Port || string.IsNullOrEmpty(migration.Host))
        {
            return false;
        }

        foreach (var host in migration.Host.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = host.Split(':')[0];
            if (string.Equals(name, pooler.Host, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            // "localhost" and "127.0.0.1" are the same pooler: compare addresses when the names differ.
            try
            {
                var mine = await Dns.GetHostAddressesAsync(pooler.Host, cancellationToken).ConfigureAwait(false);
                var theirs = await Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
                if (mine.Intersect(theirs).Any())
                {
                    return true;
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Unresolvable: not provably the pooler.
            }
        }

        return false;
    }

    private PgBouncerMigrationGateResult Report(PgBouncerMigrationGateResult result)
    {
        _pooler.Logger.MigrationGateChecked(_pooler.Name, result.Database, result.IsSafe ? "safe" : "not safe", result.IsSafe ? "none" : string.Join("; ", result.Reasons));
        return result;
    }
}

/// <summary>The answer of <see cref="PgBouncerMigrationGate.CheckAsync"/>.</summary>
public sealed class PgBouncerMigrationGateResult
{
    internal PgBouncerMigrationGateResult(string pooler, string database, bool throughPooler, string? poolMode, IReadOnlyList<string> reasons)
    {
        Pooler = pooler;
        Database = database;
        ThroughPooler = throughPooler;
        PoolMode = poolMode;
        Reasons = reasons;
    }

    /// <summary>The pooler checked.</summary>
    public string Pooler { get; }

    /// <summary>The migration connection's database.</summary>
    public string Database { get; }

    /// <summary>Whether the migration connection goes to this pooler (its host and port); false means directly to PostgreSQL.</summary>
    public bool ThroughPooler { get; }

    /// <summary>The effective pool mode (<c>session</c>, <c>transaction</c>, <c>statement</c>); null when not through the pooler or unknown.</summary>
    public string? PoolMode { get; }

    /// <summary>True when nothing stands against migrating through this connection.</summary>
    public bool IsSafe => Reasons.Count == 0;

    /// <summary>Why not, one sentence each; empty when safe.</summary>
    public IReadOnlyList<string> Reasons { get; }

    /// <inheritdoc />
    public override string ToString() => IsSafe
        ? $"{Pooler}: safe to migrate {Database} ({(ThroughPooler ? PoolMode + " mode" : "not through the pooler")})"
        : $"{Pooler}: not safe to migrate {Database}: {string.Join("; ", Reasons)}";
}
