using Microsoft.Extensions.Logging;

namespace Reconciliation.Queue;

/// <summary>
/// Reads one queue in one round trip: <c>queue.depth</c>, <c>queue.oldest_pending.age</c>, <c>queue.stuck</c>,
/// <c>queue.dead</c>. The queue's name is the resource.
/// </summary>
internal sealed class QueueProbe(PostgresJobQueue queue, ILogger? logger = null) : IProbe, IAsyncDisposable
{
    private readonly QueueProbeConnector _connector = new(queue.DataSource, queue.Name, logger);

    /// <summary>The probe's pool (its name, and whether it is still the named one).</summary>
    internal QueueProbeConnector Connector => _connector;

    private const int DepthIndex = 0;
    private const int AgeIndex = 1;
    private const int StuckIndex = 2;
    private const int DeadIndex = 3;

    private static readonly SignalDescriptor[] Descriptors =
    [
        new(QueueSignalNames.Depth, SignalUnits.Count, "Pending jobs (due or delayed)."),
        new(QueueSignalNames.OldestPendingAge, SignalUnits.Seconds, "How long the oldest due pending job has waited past its run_at; 0 when nothing is due."),
        new(QueueSignalNames.Stuck, SignalUnits.Count, "Jobs leased past the visibility timeout, whose worker stopped heartbeating, or pending with no attempts left."),
        new(QueueSignalNames.Dead, SignalUnits.Count, "Dead-lettered jobs."),
    ];

    public string Resource => queue.Name;

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        // Its own connection, not the app's pool: the probe must answer while the app's pool is saturated.
        var connection = await _connector.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var stats = await queue.GetStatsAsync(connection, cancellationToken).ConfigureAwait(false);
        writer.Write(DepthIndex, stats.Depth);
        writer.Write(AgeIndex, stats.OldestPendingAge);
        writer.Write(StuckIndex, stats.Stuck);
        writer.Write(DeadIndex, stats.Dead);
    }

    /// <summary>Disposes the probe's named data source (DI disposes the probe with the container).</summary>
    public ValueTask DisposeAsync() => _connector.DisposeAsync();
}
