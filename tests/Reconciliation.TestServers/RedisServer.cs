using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Reconciliation.TestServers;

/// <summary>
/// A throwaway Redis: its own free port on 127.0.0.1, no persistence, a temporary directory.
/// Stops and deletes itself on dispose, at process exit, on Ctrl-C, and through a watchdog if the process is killed.
/// </summary>
public sealed class RedisServer : IAsyncDisposable, IThrowawayServer
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly string _root;
    private readonly string _binary;
    private readonly RedisServerOptions _options;
    private int _prefixCounter;
    private bool _disposed;

    private RedisServer(string root, string binary, int port, RedisServerOptions options)
    {
        _root = root;
        _binary = binary;
        _options = options;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The password, if the server has one.</summary>
    public string? Password => _options.Password;

    /// <summary>True between a successful start and a stop.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>A StackExchange.Redis configuration string for this server (without admin rights).</summary>
    public string ConnectionString => Configuration(allowAdmin: false);

    /// <summary>A StackExchange.Redis configuration string; <paramref name="allowAdmin"/> enables INFO/CONFIG.</summary>
    public string Configuration(bool allowAdmin)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", Port } },
            Password = _options.Password,
            AllowAdmin = allowAdmin,
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
        };
        return options.ToString(includePassword: true);
    }

    /// <summary>Starts a new server. Throws <see cref="TestServerUnavailableException"/> with the reason when it cannot.</summary>
    public static async Task<RedisServer> StartAsync(RedisServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var binary = ServerBinaries.FindRedisServer()
            ?? throw new TestServerUnavailableException("Redis is not installed (no redis-server on PATH).");

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var root = Directory.CreateTempSubdirectory("reconciliation-redis-").FullName;
            var server = new RedisServer(root, binary, FreePort.Next(), options ?? new RedisServerOptions());
            try
            {
                ServerJanitor.Track(server);
                ServerJanitor.StartWatchdog(
                    $"[ -f '{server.PidFile}' ] && kill -9 $(cat '{server.PidFile}'); rm -rf '{root}'");
                await server.StartAgainAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
            {
                last = e;
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw new TestServerUnavailableException($"Redis could not be started: {last?.Message}", last);
    }

    /// <summary>A unique key prefix for one test class, so classes share the server without interfering.</summary>
    public string KeyPrefix(string scope) =>
        $"{scope}:{Interlocked.Increment(ref _prefixCounter).ToString(CultureInfo.InvariantCulture)}:";

    /// <summary>Stops the server (as a crash would: no save), keeping the port for a restart.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!IsRunning)
        {
            return;
        }

        var pid = ReadPid();
        if (pid is not null)
        {
            try
            {
                using var process = Process.GetProcessById(pid.Value);
                process.Kill();
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                // Already exited.
            }
        }

        File.Delete(PidFile);
        IsRunning = false;
    }

    /// <summary>Starts the server again on the same port (after <see cref="StopAsync"/>).</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        List<string> arguments =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", _root,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", PidFile,
            "--logfile", Path.Combine(_root, "redis.log"),
            "--protected-mode", "no",
        ];
        if (_options.Password is not null)
        {
            arguments.AddRange(["--requirepass", _options.Password]);
        }

        if (_options.MaxMemoryBytes > 0)
        {
            arguments.AddRange(["--maxmemory", _options.MaxMemoryBytes.ToString(CultureInfo.InvariantCulture)]);
        }

        if (_options.MaxMemoryPolicy is not null)
        {
            arguments.AddRange(["--maxmemory-policy", _options.MaxMemoryPolicy]);
        }

        arguments.AddRange(_options.ExtraArguments);
        await ProcessRunner.RunAsync(_binary, arguments, CommandTimeout, cancellationToken).ConfigureAwait(false);
        await WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
        IsRunning = true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ServerJanitor.Untrack(this);
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        TryDelete();
    }

    void IThrowawayServer.DestroyNow()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var pid = ReadPid();
        if (pid is not null)
        {
            try
            {
                using var process = Process.GetProcessById(pid.Value);
                process.Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        TryDelete();
    }

    private string PidFile => Path.Combine(_root, "redis.pid");

    private int? ReadPid()
    {
        try
        {
            return int.Parse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return null;
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        // --daemonize returns before the listener is up; wait for the pid file and a PING.
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < CommandTimeout)
        {
            if (ReadPid() is not null)
            {
                try
                {
                    await using var connection = await ConnectionMultiplexer.ConnectAsync(
                        ConfigurationOptions.Parse(Configuration(allowAdmin: false))).ConfigureAwait(false);
                    if (connection.IsConnected)
                    {
                        await connection.GetDatabase().PingAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (RedisException e)
                {
                    last = e;
                }
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        var log = Path.Combine(_root, "redis.log");
        var tail = File.Exists(log) ? File.ReadAllText(log) : "(no log)";
        throw new TimeoutException($"Redis on port {Port} did not answer PING within {CommandTimeout}: {last?.Message}{Environment.NewLine}{tail}");
    }

    private void TryDelete()
    {
        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
