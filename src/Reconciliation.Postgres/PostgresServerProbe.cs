using System.Globalization;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// Reads the server in one round trip per tick (see <see cref="PostgresServerSnapshot"/>) on the probe's own one-connection
/// pool: connection usage, idle-in-transaction sessions, blocked sessions and recovery. The first successful reading
/// (and any later change) also logs the connection budget.
/// </summary>
internal sealed class PostgresServerProbe : IProbe
{
    private readonly PostgresResource _resource;
    private PostgresCapacityReport? _lastCapacity;

    public PostgresServerProbe(PostgresResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _resource = resource;
    }

    /// <inheritdoc />
    public string Resource => _resource.Name;

    /// <inheritdoc />
    public IReadOnlyList<SignalDescriptor> Signals { get; } =
    [
        new(PostgresSignalNames.ConnectionsUsage, SignalUnits.Ratio, "Client backends / (max_connections - reserved connections)."),
        new(PostgresSignalNames.IdleInTransactionCount, SignalUnits.Count, "Sessions idle in a transaction."),
        new(PostgresSignalNames.IdleInTransactionMaxAge, SignalUnits.Seconds, "Longest time a session has been idle in a transaction."),
        new(PostgresSignalNames.LocksBlocked, SignalUnits.Count, "Sessions waiting on a lock held by another session."),
        new(PostgresSignalNames.LocksMaxWait, SignalUnits.Seconds, "Longest wait of a blocked session's statement."),
        new(PostgresSignalNames.Recovery, SignalUnits.Flag, "1 while the server is in recovery (a standby)."),
    ];

    /// <inheritdoc />
    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var snapshot = await _resource.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        writer.Write(0, snapshot.ConnectionsUsage);
        writer.Write(1, snapshot.IdleInTransaction);
        writer.Write(2, snapshot.IdleInTransactionMaxAge);
        writer.Write(3, snapshot.Blocked);
        writer.Write(4, snapshot.MaxLockWait);
        writer.Write(5, snapshot.InRecovery ? 1 : 0);
        ReportCapacity(snapshot);
    }

    private void ReportCapacity(PostgresServerSnapshot snapshot)
    {
        var capacity = _resource.Capacity(snapshot);
        if (capacity == _lastCapacity)
        {
            return;
        }

        _lastCapacity = capacity;
        if (capacity.IsOverBudget && !_resource.AppMaxPoolSizeIsDeclared && capacity.Replicas == PostgresReconciliationOptions.DefaultReplicas && capacity.OtherClients == 0)
        {
            // Nothing was declared: Npgsql's default pool (100) on PostgreSQL's default server (100 - 3 reserved) is over
            // budget by construction, which would make every default app start with a warning about a size nobody chose.
            _resource.Logger.CapacityNotDeclared(_resource.Name, capacity.MaxPoolSize, capacity.AvailableConnections, Advice(capacity));
        }
        else if (capacity.IsOverBudget)
        {
            _resource.Logger.CapacityOverBudget(_resource.Name, capacity.Budget, capacity.AvailableConnections, capacity.MaxPoolSize,
                capacity.Replicas, capacity.ProbeConnectionsPerReplica * capacity.Replicas, capacity.OtherClients, Advice(capacity));
        }
        else
        {
            _resource.Logger.CapacityWithinBudget(_resource.Name, capacity.Budget, capacity.AvailableConnections, capacity.MaxPoolSize,
                capacity.Replicas, capacity.ProbeConnectionsPerReplica * capacity.Replicas, capacity.OtherClients);
        }
    }

    /// <summary>What to change so the budget fits: a Max Pool Size that fits, or the max_connections the budget needs.</summary>
    internal static string Advice(PostgresCapacityReport capacity)
    {
        var fitting = ((long)capacity.AvailableConnections - capacity.OtherClients) / capacity.Replicas - capacity.ProbeConnectionsPerReplica;
        var needed = capacity.Budget + capacity.ReservedConnections;
        return fitting >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"set Max Pool Size={fitting} (or less) in the app's connection string, or raise the server's max_connections to at least {needed}")
            : string.Create(CultureInfo.InvariantCulture, $"no Max Pool Size fits {capacity.Replicas} replica(s) and {capacity.OtherClients} other clients: raise the server's max_connections to at least {needed}, or lower Replicas or OtherClients");
    }
}
