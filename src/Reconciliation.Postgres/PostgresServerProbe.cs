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
        if (capacity.IsOverBudget)
        {
            _resource.Logger.CapacityOverBudget(_resource.Name, capacity.Budget, capacity.AvailableConnections, capacity.MaxPoolSize,
                capacity.Replicas, capacity.ProbeConnectionsPerReplica * capacity.Replicas, capacity.OtherClients);
        }
        else
        {
            _resource.Logger.CapacityWithinBudget(_resource.Name, capacity.Budget, capacity.AvailableConnections, capacity.MaxPoolSize,
                capacity.Replicas, capacity.ProbeConnectionsPerReplica * capacity.Replicas, capacity.OtherClients);
        }
    }
}
