using System.Diagnostics.Metrics;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// Reads the app's Npgsql pool from Npgsql's own metrics (Meter <c>Npgsql</c>) with a <see cref="MeterListener"/>:
/// <c>postgres.pool.usage</c> = <c>db.client.connection.count{state=used}</c> / <c>db.client.connection.max</c> and
/// <c>postgres.pool.pending</c> = <c>db.client.connection.npgsql.pending_requests</c>, for the measurements tagged with the
/// data source's pool name. No round trip, no reflection into Npgsql.
/// </summary>
/// <remarks>
/// The pending-requests instrument is an up/down counter: the probe sums its changes from the moment it was created, so
/// it must exist before requests queue (DI creates it when the engine starts). The sum never goes below zero.
/// </remarks>
internal sealed class PostgresPoolProbe : IProbe, IDisposable
{
    internal const string NpgsqlMeterName = "Npgsql";
    internal const string ConnectionCountInstrument = "db.client.connection.count";
    internal const string ConnectionMaxInstrument = "db.client.connection.max";
    internal const string PendingRequestsInstrument = "db.client.connection.npgsql.pending_requests";
    internal const string PoolNameTag = "db.client.connection.pool.name";
    internal const string StateTag = "db.client.connection.state";

    private readonly PostgresResource _resource;
    private readonly MeterListener _listener;
    private readonly Lock _observing = new();
    private int _pending;
    private int _used = -1;
    private int _max = -1;
    private bool _missingLogged;

    public PostgresPoolProbe(PostgresResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _resource = resource;
        _listener = new MeterListener
        {
            InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == NpgsqlMeterName
                    && instrument.Name is ConnectionCountInstrument or ConnectionMaxInstrument or PendingRequestsInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.Start();
    }

    /// <inheritdoc />
    public string Resource => _resource.Name;

    /// <inheritdoc />
    public IReadOnlyList<SignalDescriptor> Signals { get; } =
    [
        new(PostgresSignalNames.PoolUsage, SignalUnits.Ratio, "Busy connections of the app's Npgsql pool / its Max Pool Size."),
        new(PostgresSignalNames.PoolPending, SignalUnits.Count, "Requests waiting for a connection from the app's Npgsql pool."),
    ];

    /// <inheritdoc />
    /// <remarks>Reads Npgsql's in-memory pool statistics: no round trip to the server.</remarks>
    public ProbeExecution Execution => ProbeExecution.Inline;

    /// <inheritdoc />
    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int used, max;
        lock (_observing)
        {
            _used = -1;
            _max = -1;

            // Observable instruments report only when asked: this runs Npgsql's callbacks synchronously, into OnMeasurement.
            _listener.RecordObservableInstruments();
            used = _used;
            max = _max;
        }

        if (used < 0 || max <= 0)
        {
            // No pool with that name (a custom NpgsqlDataSourceBuilder.Name, or a non-pooling data source): no reading.
            if (!_missingLogged)
            {
                _missingLogged = true;
                _resource.Logger.PoolMetricsMissing(_resource.Name);
            }

            return ValueTask.CompletedTask;
        }

        writer.Write(0, (double)used / max);
        writer.Write(1, Math.Max(0, Volatile.Read(ref _pending)));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, int measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? poolName = null;
        string? connectionState = null;
        foreach (var tag in tags)
        {
            if (tag.Key == PoolNameTag)
            {
                poolName = tag.Value as string;
            }
            else if (tag.Key == StateTag)
            {
                connectionState = tag.Value as string;
            }
        }

        if (!_resource.IsAppPool(poolName))
        {
            return;
        }

        switch (instrument.Name)
        {
            case PendingRequestsInstrument:
                Interlocked.Add(ref _pending, measurement);
                break;
            case ConnectionMaxInstrument:
                _max = measurement;
                break;
            case ConnectionCountInstrument when connectionState == "used":
                _used = measurement;
                break;
        }
    }
}
