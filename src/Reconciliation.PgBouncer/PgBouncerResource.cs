using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reconciliation.PgBouncer.Telemetry;

namespace Reconciliation.PgBouncer;

/// <summary>
/// One registered pooler: its name, declared databases, options, and ONE admin console connection shared by the probes,
/// the healers and the gate (serialised; reopened after a failure). The probes of the declared databases share one
/// snapshot per tick, so a tick costs one round trip whatever the number of databases.
/// </summary>
internal sealed class PgBouncerResource : IAsyncDisposable
{
    /// <summary>A snapshot this young is shared by the other databases' probes of the same tick.</summary>
    internal static readonly TimeSpan SnapshotShareWindow = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _snapshotGate = new();
    private readonly PgBouncerEndpoint _endpoint;
    private PgBouncerConsoleConnection? _connection;
    private SharedSnapshot? _snapshot;
    private int _roundTrips;

    public PgBouncerResource(string name, PgBouncerReconciliationOptions options, TimeProvider timeProvider, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        Time = timeProvider;
        Logger = logger ?? NullLogger.Instance;
        _endpoint = PgBouncerEndpoint.Parse(options.AdminConnectionString ?? string.Empty, options.ApplicationName);
        Databases = [.. options.Databases];
        Resources = [.. Databases.Select(d => PgBouncerResourceNames.For(name, d))];
    }

    public string Name { get; }

    public PgBouncerReconciliationOptions Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public IReadOnlyList<string> Databases { get; }

    public IReadOnlyList<string> Resources { get; }

    /// <summary>The pooler's host and port (for the migration gate's "is this connection through the pooler?").</summary>
    public PgBouncerEndpoint Endpoint => _endpoint;

    /// <summary>Round trips made with the console so far (tests prove one per tick).</summary>
    public int RoundTrips => Volatile.Read(ref _roundTrips);

    /// <summary>The declared database a resource name stands for, or null when it is not one of this pooler's.</summary>
    public string? DatabaseOf(string resource)
    {
        for (var i = 0; i < Resources.Count; i++)
        {
            if (string.Equals(Resources[i], resource, StringComparison.Ordinal))
            {
                return Databases[i];
            }
        }

        return null;
    }

    /// <summary>
    /// The snapshot for probe <paramref name="probeIndex"/> this tick: the one another database's probe fetched moments ago
    /// if this probe has not used it yet, else a fresh one (joined by the others).
    /// </summary>
    public Task<PgBouncerSnapshot> SnapshotForProbeAsync(int probeIndex, CancellationToken cancellationToken)
    {
        Task<PgBouncerSnapshot> task;
        lock (_snapshotGate)
        {
            var now = Time.GetTimestamp();
            var current = _snapshot;
            if (current is null || current.Used[probeIndex] || Time.GetElapsedTime(current.StartedAt, now) > SnapshotShareWindow)
            {
                current = new SharedSnapshot(ReadSnapshotAsync(CancellationToken.None), now, Databases.Count);
                _snapshot = current;
            }

            current.Used[probeIndex] = true;
            task = current.Task;
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <summary>One round trip: the five SHOW commands.</summary>
    public async Task<PgBouncerSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken) =>
        PgBouncerSnapshot.Parse(await ExecuteAsync(PgBouncerSnapshot.Commands, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Runs <paramref name="commands"/> in one round trip on the shared console connection. A reused connection that fails
    /// (the pooler closed it: restart, <c>client_idle_timeout</c>) is replaced once; a fresh one that fails throws.
    /// </summary>
    public async Task<IReadOnlyList<PgBouncerResultSet>> ExecuteAsync(IReadOnlyList<string> commands, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var reused = _connection is { IsUsable: true };
                if (!reused)
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                    _connection = await PgBouncerConsoleConnection.OpenAsync(_endpoint, Options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    Interlocked.Increment(ref _roundTrips);
                    return await _connection!.QueryAsync(commands, cancellationToken).ConfigureAwait(false);
                }
                catch (PgBouncerException e) when (e is not PgBouncerErrorException && reused && attempt == 0)
                {
                    Logger.ConsoleConnectionDropped(Name, e.GetType().Name);
                    await DropConnectionAsync().ConfigureAwait(false);
                }
            }
        }
        catch (PgBouncerException e) when (e is not PgBouncerErrorException)
        {
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Quotes a pooler database name for a console command (<c>"orders"</c>, inner quotes doubled).</summary>
    public static string Quote(string database)
    {
        var builder = new StringBuilder(database.Length + 2).Append('"');
        foreach (var c in database)
        {
            builder.Append(c == '"' ? "\"\"" : c.ToString());
        }

        return builder.Append('"').ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class SharedSnapshot(Task<PgBouncerSnapshot> task, long startedAt, int probes)
    {
        public Task<PgBouncerSnapshot> Task { get; } = task;

        public long StartedAt { get; } = startedAt;

        public bool[] Used { get; } = new bool[probes];
    }
}
