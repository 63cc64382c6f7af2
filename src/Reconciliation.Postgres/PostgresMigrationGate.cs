using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// "Is it safe to run DDL now?" for a deploy step, before migrations: the server is not in recovery, no transaction of
/// the database has been open longer than <see cref="PostgresMigrationGateOptions.MaxTransactionAge"/> (an
/// <c>ACCESS EXCLUSIVE</c> lock would queue behind it, and every query of the table behind the lock), connection usage is
/// below <see cref="PostgresMigrationGateOptions.MaxConnectionsUsage"/>, and the declared connection budget fits.
/// One round trip on the probe's own connection. Resolve it from DI (<c>GetRequiredService&lt;PostgresMigrationGate&gt;()</c>
/// for the first registration, <c>GetRequiredKeyedService&lt;PostgresMigrationGate&gt;("main-db")</c> by resource) or create one.
/// </summary>
public sealed class PostgresMigrationGate : IAsyncDisposable, IDisposable
{
    private readonly PostgresResource _resource;
    private readonly bool _ownsResource;

    /// <summary>Creates a gate for <paramref name="dataSource"/> outside DI (a migration tool). Dispose it when done.</summary>
    /// <exception cref="ArgumentException">The options are invalid (the message names the key).</exception>
    public PostgresMigrationGate(NpgsqlDataSource dataSource, PostgresReconciliationOptions? options = null, ILoggerFactory? loggerFactory = null)
        : this(new PostgresResource(dataSource, options ?? new PostgresReconciliationOptions(), loggerFactory), ownsResource: true)
    {
    }

    internal PostgresMigrationGate(PostgresResource resource, bool ownsResource)
    {
        _resource = resource;
        _ownsResource = ownsResource;
    }

    /// <summary>The resource this gate checks.</summary>
    public string Resource => _resource.Name;

    /// <summary>Checks the server now. Connection failures propagate (a deploy step should fail closed).</summary>
    public async Task<PostgresMigrationGateResult> CheckAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await _resource.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var gate = _resource.Options.MigrationGate;
        var capacity = _resource.Capacity(snapshot);
        var reasons = new List<string>();
        var oldest = TimeSpan.FromSeconds(snapshot.OldestTransactionAge);

        if (snapshot.InRecovery)
        {
            reasons.Add("the server is in recovery (a standby): DDL must run on the primary");
        }

        if (oldest > gate.MaxTransactionAge)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"a transaction has been open for {oldest.TotalSeconds:0.#} s (bound {gate.MaxTransactionAge.TotalSeconds:0.#} s): an ACCESS EXCLUSIVE lock would queue behind it and block every query of the table behind it"));
        }

        if (snapshot.ConnectionsUsage >= gate.MaxConnectionsUsage)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"connection usage is {snapshot.ConnectionsUsage:0.###} of usable connections (bound {gate.MaxConnectionsUsage:0.###})"));
        }

        if (gate.RequireCapacity && capacity.IsOverBudget)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"the connection budget {capacity.Budget} ((max pool size {capacity.MaxPoolSize} + {capacity.ProbeConnectionsPerReplica} probe) x {capacity.Replicas} replicas + {capacity.OtherClients} other clients) exceeds the {capacity.AvailableConnections} usable connections"));
        }

        var result = new PostgresMigrationGateResult(_resource.Name, reasons, snapshot.InRecovery, oldest, snapshot.ConnectionsUsage, capacity);
        _resource.Logger.MigrationGateChecked(_resource.Name, result.IsSafe ? "safe" : "not safe", result.IsSafe ? "none" : string.Join("; ", reasons));
        return result;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownsResource ? _resource.DisposeAsync() : ValueTask.CompletedTask;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsResource)
        {
            _resource.Dispose();
        }
    }
}
