namespace Reconciliation.Postgres;

/// <summary>
/// The connection budget of one database: what this app may open at full load (max pool size × replicas, plus the probe's
/// connection per replica, plus other declared clients) against what the server lets ordinary roles open
/// (<c>max_connections</c> minus reserved slots). Over budget, a load peak ends in "FATAL: sorry, too many clients already".
/// </summary>
/// <param name="MaxConnections">The server's <c>max_connections</c>.</param>
/// <param name="ReservedConnections"><c>superuser_reserved_connections</c> plus <c>reserved_connections</c> (PostgreSQL 16+).</param>
/// <param name="MaxPoolSize">The app data source's Max Pool Size.</param>
/// <param name="Replicas">Declared replicas of the app.</param>
/// <param name="ProbeConnectionsPerReplica">Connections the probe of each replica holds (1).</param>
/// <param name="OtherClients">Connections declared for other clients.</param>
public sealed record PostgresCapacityReport(int MaxConnections, int ReservedConnections, int MaxPoolSize, int Replicas,
    int ProbeConnectionsPerReplica, int OtherClients)
{
    /// <summary>Connections ordinary roles may open: <see cref="MaxConnections"/> minus <see cref="ReservedConnections"/>.</summary>
    public int AvailableConnections => Math.Max(0, MaxConnections - ReservedConnections);

    /// <summary>Connections declared at full load: (max pool size + probe) × replicas + other clients.</summary>
    public long Budget => ((long)MaxPoolSize + ProbeConnectionsPerReplica) * Replicas + OtherClients;

    /// <summary>True when <see cref="Budget"/> exceeds <see cref="AvailableConnections"/>.</summary>
    public bool IsOverBudget => Budget > AvailableConnections;
}
