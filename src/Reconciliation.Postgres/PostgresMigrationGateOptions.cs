namespace Reconciliation.Postgres;

/// <summary>Bounds of <see cref="PostgresMigrationGate"/>: when running DDL now is considered safe.</summary>
public sealed class PostgresMigrationGateOptions
{
    /// <summary>Default of <see cref="MaxTransactionAge"/>: 5 seconds.</summary>
    public static readonly TimeSpan DefaultMaxTransactionAge = TimeSpan.FromSeconds(5);

    /// <summary>Default of <see cref="MaxConnectionsUsage"/>: 0.8.</summary>
    public const double DefaultMaxConnectionsUsage = 0.8;

    /// <summary>
    /// No transaction of the database may have been open longer than this. An <c>ACCESS EXCLUSIVE</c> lock (most
    /// <c>ALTER TABLE</c>s) queues behind any transaction that touched the table, and every query of the table then
    /// queues behind the DDL: a long transaction turns a quick migration into an outage. Default 5 seconds.
    /// </summary>
    public TimeSpan MaxTransactionAge { get; set; } = DefaultMaxTransactionAge;

    /// <summary>Server connection usage (as <c>postgres.connections.usage</c>) must be below this. Default 0.8.</summary>
    public double MaxConnectionsUsage { get; set; } = DefaultMaxConnectionsUsage;

    /// <summary>True (the default): the gate also says no when the declared connection budget exceeds the server's connections.</summary>
    public bool RequireCapacity { get; set; } = true;
}
