namespace Reconciliation.Postgres;

/// <summary>The answer of <see cref="PostgresMigrationGate.CheckAsync"/>: whether running DDL now is safe, and why not.</summary>
public sealed class PostgresMigrationGateResult
{
    internal PostgresMigrationGateResult(string resource, IReadOnlyList<string> reasons, bool inRecovery, TimeSpan oldestTransactionAge,
        double connectionsUsage, PostgresCapacityReport capacity)
    {
        Resource = resource;
        Reasons = reasons;
        InRecovery = inRecovery;
        OldestTransactionAge = oldestTransactionAge;
        ConnectionsUsage = connectionsUsage;
        Capacity = capacity;
    }

    /// <summary>The resource checked.</summary>
    public string Resource { get; }

    /// <summary>True when no reason stands against running DDL now.</summary>
    public bool IsSafe => Reasons.Count == 0;

    /// <summary>Why it is not safe, one sentence each; empty when it is.</summary>
    public IReadOnlyList<string> Reasons { get; }

    /// <summary>True when the server is a standby in recovery (DDL cannot run there).</summary>
    public bool InRecovery { get; }

    /// <summary>How long the oldest open transaction of the database (other than the gate's own) has been open; zero when none.</summary>
    public TimeSpan OldestTransactionAge { get; }

    /// <summary>Client backends / usable connections, as <c>postgres.connections.usage</c>.</summary>
    public double ConnectionsUsage { get; }

    /// <summary>The connection budget.</summary>
    public PostgresCapacityReport Capacity { get; }

    /// <inheritdoc />
    public override string ToString() => IsSafe ? $"{Resource}: safe to migrate" : $"{Resource}: not safe to migrate: {string.Join("; ", Reasons)}";
}
