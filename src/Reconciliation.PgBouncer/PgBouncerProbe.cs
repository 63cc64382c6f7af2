using Reconciliation.PgBouncer.Telemetry;

namespace Reconciliation.PgBouncer;

/// <summary>
/// Reads one declared pooler database (resource <c>&lt;pooler&gt;/&lt;database&gt;</c>) from the snapshot the pooler's probes
/// share each tick: clients waiting, longest wait, server and client connection usage, pool mode, paused, and average
/// query and transaction time from <c>SHOW STATS</c> counter deltas since this probe's previous reading.
/// A database the pooler does not have fails the probe (<c>probe.failed</c> = 1) with that reason.
/// </summary>
internal sealed class PgBouncerProbe : IProbe
{
    internal const int ClientsWaitingIndex = 0;
    internal const int WaitMaxIndex = 1;
    internal const int ServersUsageIndex = 2;
    internal const int ClientsUsageIndex = 3;
    internal const int PoolModeIndex = 4;
    internal const int QueryAverageTimeIndex = 5;
    internal const int TransactionAverageTimeIndex = 6;
    internal const int PausedIndex = 7;

    private static readonly SignalDescriptor[] Descriptors =
    [
        new(PgBouncerSignalNames.ClientsWaiting, SignalUnits.Count, "Clients of the database waiting for a server connection (cl_waiting summed over its pools)."),
        new(PgBouncerSignalNames.WaitMax, SignalUnits.Seconds, "Longest current wait of a client of the database (maxwait + maxwait_us)."),
        new(PgBouncerSignalNames.ServersUsage, SignalUnits.Ratio, "Server connections of the fullest pool / (pool_size + reserve_pool), or current_connections / max_db_connections when higher."),
        new(PgBouncerSignalNames.ClientsUsage, SignalUnits.Ratio, "Client connections of the whole pooler (used_clients) / max_client_conn."),
        new(PgBouncerSignalNames.PoolMode, SignalUnits.Count, "Effective pool mode of the database: 0 session, 1 transaction, 2 statement."),
        new(PgBouncerSignalNames.QueryAverageTime, SignalUnits.Seconds, "Average query time since the previous reading (SHOW STATS deltas); no reading without queries."),
        new(PgBouncerSignalNames.TransactionAverageTime, SignalUnits.Seconds, "Average transaction time since the previous reading (SHOW STATS deltas); no reading without transactions."),
        new(PgBouncerSignalNames.Paused, SignalUnits.Flag, "1 while the database is paused (PAUSE, or KILL not yet resumed) or disabled."),
    ];

    private readonly PgBouncerResource _pooler;
    private readonly int _index;
    private readonly string _database;
    private Counters? _previous;

    public PgBouncerProbe(PgBouncerResource pooler, int index)
    {
        ArgumentNullException.ThrowIfNull(pooler);
        _pooler = pooler;
        _index = index;
        _database = pooler.Databases[index];
        Resource = pooler.Resources[index];
    }

    public string Resource { get; }

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var snapshot = await _pooler.SnapshotForProbeAsync(_index, cancellationToken).ConfigureAwait(false);
        var db = snapshot.Database(_database)
            ?? throw new InvalidOperationException($"The pooler '{_pooler.Name}' has no database '{_database}' (SHOW DATABASES does not list it).");

        writer.Write(ClientsWaitingIndex, db.ClientsWaiting);
        writer.Write(WaitMaxIndex, db.MaxWaitSeconds);
        writer.Write(ServersUsageIndex, db.ServersUsage);
        if (snapshot.ClientsUsage is { } clients)
        {
            writer.Write(ClientsUsageIndex, clients);
        }

        if (PgBouncerSnapshot.PoolModeValue(db.PoolMode) is { } mode)
        {
            writer.Write(PoolModeIndex, mode);
        }

        writer.Write(PausedIndex, db.Paused || db.Disabled ? 1 : 0);

        // SHOW STATS has no row for a database before its first client: its counters are zero until then.
        {
            var now = new Counters(db.TotalQueryCount, db.TotalQueryMicroseconds, db.TotalTransactionCount, db.TotalTransactionMicroseconds);
            if (_previous is { } before)
            {
                if (now.Queries < before.Queries || now.Transactions < before.Transactions
                    || now.QueryMicroseconds < before.QueryMicroseconds || now.TransactionMicroseconds < before.TransactionMicroseconds)
                {
                    _pooler.Logger.StatsReset(Resource);
                }
                else
                {
                    if (now.Queries > before.Queries)
                    {
                        writer.Write(QueryAverageTimeIndex, (now.QueryMicroseconds - before.QueryMicroseconds) / 1e6 / (now.Queries - before.Queries));
                    }

                    if (now.Transactions > before.Transactions)
                    {
                        writer.Write(TransactionAverageTimeIndex,
                            (now.TransactionMicroseconds - before.TransactionMicroseconds) / 1e6 / (now.Transactions - before.Transactions));
                    }
                }
            }

            _previous = now;
        }
    }

    private readonly record struct Counters(long Queries, long QueryMicroseconds, long Transactions, long TransactionMicroseconds);
}
