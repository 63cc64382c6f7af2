namespace Reconciliation.Postgres;

/// <summary>Names of the PostgreSQL healers (the names rules list in <c>Heal</c>).</summary>
public static class PostgresHealerNames
{
    /// <summary>Clears this process's Npgsql pool (<c>NpgsqlDataSource.Clear()</c>). Local to the process.</summary>
    public const string ClearPool = "postgres.clear-pool";

    /// <summary>Terminates this app's sessions idle in a transaction longer than a configured age (<c>pg_terminate_backend</c>).</summary>
    public const string TerminateIdleInTransaction = "postgres.terminate-idle-in-transaction";

    /// <summary>Cancels the running statement of sessions that have blocked others longer than a configured wait (<c>pg_cancel_backend</c>). Destructive: opt in with <c>AllowDestructive</c>.</summary>
    public const string CancelBlockers = "postgres.cancel-blockers";
}
