using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Health;

namespace Reconciliation;

/// <summary>
/// The heartbeat file and the TCP probe ports of <see cref="HeartbeatOptions"/>. Polls the engine's state (never runs a
/// probe) at least once a second, or once an interval when the interval is shorter: the file is touched once per
/// completed live tick, and each port listens while its verdict holds and stops listening (connections are refused)
/// when it does not, as Microsoft.Extensions.Diagnostics.Probes does. The verdicts are the health check's.
/// </summary>
internal sealed class ReconciliationHeartbeat : BackgroundService
{
    private static readonly TimeSpan MaxPollPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinPollPeriod = TimeSpan.FromMilliseconds(50);
    private readonly IReconciliationState _state;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private DateTimeOffset? _touchedFor;
    private bool _fileFailing;

    public ReconciliationHeartbeat(IReconciliationState state, TimeProvider time, ILogger<ReconciliationHeartbeat> logger)
    {
        _state = state;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = _state.CurrentOptions.Heartbeat;
        if (options.File is null && options.LivenessPort is null && options.ReadinessPort is null)
        {
            return;
        }

        using var liveness = options.LivenessPort is { } livePort ? new TcpProbeEndpoint(livePort, "liveness", _logger) : null;
        using var readiness = options.ReadinessPort is { } readyPort ? new TcpProbeEndpoint(readyPort, "readiness", _logger) : null;
        var period = _state.CurrentOptions.Interval < MaxPollPeriod ? _state.CurrentOptions.Interval : MaxPollPeriod;
        using var timer = new PeriodicTimer(period < MinPollPeriod ? MinPollPeriod : period, _time);
        try
        {
            do
            {
                Beat(options, liveness, readiness);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the ports close on dispose; the file is left to age.
        }
    }

    /// <summary>One poll: the verdicts now, the file touched once per new live tick, the ports opened or closed.</summary>
    internal void Beat(HeartbeatOptions options, TcpProbeEndpoint? liveness, TcpProbeEndpoint? readiness)
    {
        var now = _time.GetUtcNow();
        var live = ReconciliationHealthCheck.Evaluate(_state,
            new ReconciliationHealthCheckOptions { RuleTag = options.LiveRuleTag, StaleAfterIntervals = options.StaleAfterIntervals, HealthyBeforeFirstTick = true },
            HealthStatus.Unhealthy, now).Status != HealthStatus.Unhealthy;
        liveness?.Set(live);
        if (readiness is not null)
        {
            var ready = ReconciliationHealthCheck.Evaluate(_state,
                new ReconciliationHealthCheckOptions { RuleTag = options.ReadyRuleTag, StaleAfterIntervals = options.StaleAfterIntervals },
                HealthStatus.Unhealthy, now).Status != HealthStatus.Unhealthy;
            readiness.Set(ready);
        }

        if (options.File is not { } file || !live)
        {
            return;
        }

        if (!_state.CurrentOptions.Enabled)
        {
            // Switched off on purpose (the health check reads Healthy, "disabled"): no tick will come, so the file is kept
            // fresh at every poll rather than left to age into a restart.
            Touch(file, now, _state.LatestReport?.Tick ?? 0);
        }
        else if (_state.LastTickCompletedAt is { } completed && completed != _touchedFor)
        {
            Touch(file, now, _state.LatestReport?.Tick ?? 0);
            _touchedFor = completed;
        }
    }

    private void Touch(string path, DateTimeOffset now, long tick)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            // Written aside and renamed, so a probe never reads a half-written file; the time is the TimeProvider's.
            var temporary = path + ".tmp";
            System.IO.File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture, $"tick {tick} at {now:O}\n"));
            System.IO.File.SetLastWriteTimeUtc(temporary, now.UtcDateTime);
            System.IO.File.Move(temporary, path, overwrite: true);
            if (_fileFailing)
            {
                _fileFailing = false;
                _logger.HeartbeatFileRecovered(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_fileFailing)
            {
                _fileFailing = true;
                _logger.HeartbeatFileFailed(path, SecretScrubber.Describe(e));
            }
        }
    }
}

/// <summary>A TCP port that listens while its verdict holds: a <c>tcpSocket</c> probe connects, and the connection is closed at once.</summary>
internal sealed class TcpProbeEndpoint : IDisposable
{
    private readonly int _port;
    private readonly string _name;
    private readonly ILogger _logger;
    private TcpListener? _listener;
    private bool _failing;

    public TcpProbeEndpoint(int port, string name, ILogger logger)
    {
        _port = port;
        _name = name;
        _logger = logger;
    }

    public bool IsListening => _listener is not null;

    public void Set(bool healthy)
    {
        if (healthy && _listener is null)
        {
            var listener = new TcpListener(IPAddress.Any, _port);
            try
            {
                listener.Start(backlog: 10);
            }
            catch (SocketException e)
            {
                if (!_failing)
                {
                    _failing = true;
                    _logger.ProbePortFailed(_name, _port, e.Message);
                }

                return;
            }

            _failing = false;
            _listener = listener;
            _ = AcceptAsync(listener);
            _logger.ProbePortOpened(_name, _port);
        }
        else if (!healthy && _listener is { } open)
        {
            _listener = null;
            open.Stop();
            _logger.ProbePortClosed(_name, _port);
        }
    }

    public void Dispose()
    {
        _listener?.Stop();
        _listener = null;
    }

    private static async Task AcceptAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped: the verdict turned, or the host is stopping.
        }
    }
}
