using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reconciliation.Queue.Telemetry;

/// <summary>
/// The queue's instruments on the meter <see cref="MeterName"/>: how long each job ran and how it ended
/// (<c>reconciliation.queue.job.duration</c>, tagged <c>queue</c>, <c>kind</c>, <c>outcome</c>), and jobs rescued from
/// expired leases (<c>reconciliation.queue.jobs.rescued</c>).
/// </summary>
internal sealed class QueueMetrics
{
    /// <summary>The meter's name, the package's name.</summary>
    public const string MeterName = "Reconciliation.Queue";

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _rescued;

    public QueueMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _duration = meter.CreateHistogram<double>("reconciliation.queue.job.duration", "s",
            "How long a job's handler ran, by outcome (completed, failed, dead_lettered, lease_lost, cancelled, released).");
        _rescued = meter.CreateCounter<long>("reconciliation.queue.jobs.rescued", "{job}",
            "Jobs whose lease expired (a worker died or stalled) put back by the built-in rescue.");
    }

    public void Ran(string queue, string kind, string outcome, TimeSpan elapsed)
    {
        if (!_duration.Enabled)
        {
            return;
        }

        var tags = new TagList { { "queue", queue }, { "kind", kind }, { "outcome", outcome } };
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Rescued(string queue, long count)
    {
        if (_rescued.Enabled && count > 0)
        {
            _rescued.Add(count, new KeyValuePair<string, object?>("queue", queue));
        }
    }
}
