namespace Reconciliation.TestServers;

/// <summary>How a throwaway PgBouncer is configured.</summary>
public sealed class PgBouncerServerOptions
{
    /// <summary>The pooler databases (<c>[databases]</c> entries), each pointing at a database of the backend PostgreSQL.</summary>
    public IReadOnlyList<PgBouncerDatabase> Databases { get; init; } = [];

    /// <summary>The pooler-wide <c>pool_mode</c>; <c>session</c> by default.</summary>
    public string PoolMode { get; init; } = "session";

    /// <summary><c>max_client_conn</c>; 100 by default.</summary>
    public int MaxClientConnections { get; init; } = 100;

    /// <summary>When true, the pooler requires TLS from clients (<c>client_tls_sslmode = require</c>) with a self-signed certificate made by <c>openssl</c>.</summary>
    public bool RequireTls { get; init; }
}

/// <summary>One <c>[databases]</c> entry: <paramref name="Name"/> on the pooler, <paramref name="BackendDatabase"/> on PostgreSQL.</summary>
/// <param name="Name">The name clients connect to.</param>
/// <param name="BackendDatabase">The PostgreSQL database behind it.</param>
/// <param name="PoolMode">The database's own <c>pool_mode</c>, or null for the pooler's.</param>
/// <param name="PoolSize">The database's <c>pool_size</c>, or null for <c>default_pool_size</c>.</param>
public sealed record PgBouncerDatabase(string Name, string BackendDatabase, string? PoolMode = null, int? PoolSize = null);
