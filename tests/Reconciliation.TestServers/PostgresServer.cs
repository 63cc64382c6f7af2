using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Reconciliation.TestServers;

/// <summary>
/// A throwaway PostgreSQL: <c>initdb</c> into a temporary directory, its own free port on 127.0.0.1,
/// fsync off, run through a non-root user (PostgreSQL refuses root). Stops and deletes itself on dispose,
/// at process exit, on Ctrl-C, and through a watchdog if the process is killed.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable, IThrowawayServer
{
    /// <summary>The superuser every instance is created with.</summary>
    public const string Superuser = "postgres";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly string _root;
    private readonly string _dataDirectory;
    private readonly string _binDirectory;
    private readonly string? _runAs;
    private int _databaseCounter;
    private bool _disposed;

    private PostgresServer(string root, string binDirectory, string? runAs, int port, string password)
    {
        _root = root;
        _dataDirectory = Path.Combine(root, "data");
        _binDirectory = binDirectory;
        _runAs = runAs;
        Port = port;
        Password = password;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The superuser's password, random per instance (tests use it to prove it never leaks).</summary>
    public string Password { get; }

    /// <summary>True between a successful start and a stop.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>A superuser connection string to the <c>postgres</c> database. Pooling is off so a stop leaves nothing stale.</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres", pooling: false);

    /// <summary>Creates, configures and starts a new server. Throws <see cref="TestServerUnavailableException"/> with the reason when it cannot.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var bin = ServerBinaries.FindPostgresBinDirectory()
            ?? throw new TestServerUnavailableException("PostgreSQL is not installed (no initdb found in /usr/lib/postgresql/*/bin or on PATH).");

        string? runAs = null;
        if (ProcessRunner.IsRoot)
        {
            // PostgreSQL refuses to run as root: use the account Debian's package creates, else nobody.
            runAs = File.ReadAllLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)) ? "postgres" : "nobody";
        }

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var root = Directory.CreateTempSubdirectory("reconciliation-pg-").FullName;
            var server = new PostgresServer(root, bin, runAs, FreePort.Next(), RandomPassword());
            try
            {
                await server.InitializeAsync(cancellationToken).ConfigureAwait(false);
                await server.StartAgainAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or NpgsqlException or IOException or UnauthorizedAccessException)
            {
                // Most likely another process took the port between FreePort.Next() and the bind: try a new one.
                last = e;
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw new TestServerUnavailableException($"PostgreSQL could not be started: {last?.Message}", last);
    }

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionStringFor(string database, bool pooling = true, string? applicationName = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = Superuser,
            Password = Password,
            Database = database,
            Pooling = pooling,
            Timeout = 5,
        };
        if (applicationName is not null)
        {
            builder.ApplicationName = applicationName;
        }

        return builder.ConnectionString;
    }

    /// <summary>Creates a fresh database for one test class (so classes run in parallel without interfering) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string scope, CancellationToken cancellationToken = default)
    {
        var name = "t_" + new string(scope.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        if (name.Length > 40)
        {
            name = name[..40];
        }

        name += "_" + Interlocked.Increment(ref _databaseCounter).ToString(CultureInfo.InvariantCulture);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return ConnectionStringFor(name);
    }

    /// <summary>Stops the server (fast shutdown: open sessions are disconnected), keeping its data for a restart.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!IsRunning)
        {
            return;
        }

        await PgCtlAsync(["stop", "-D", _dataDirectory, "-m", "fast", "-w"], cancellationToken).ConfigureAwait(false);
        IsRunning = false;
    }

    /// <summary>Starts the server again on the same port with the same data (after <see cref="StopAsync"/>).</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        await PgCtlAsync(["start", "-D", _dataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60"], cancellationToken).ConfigureAwait(false);
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
        try
        {
            if (IsRunning)
            {
                await PgCtlAsync(["stop", "-D", _dataDirectory, "-m", "immediate", "-w"], CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already gone: nothing to stop.
        }

        IsRunning = false;
        TryDelete(_root);
    }

    void IThrowawayServer.DestroyNow()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            using var stop = Process.Start(StartInfo("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "immediate", "-w"]));
            stop?.WaitForExit(10_000);
        }
        finally
        {
            TryDelete(_root);
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_runAs is not null)
        {
            await ProcessRunner.RunAsync("chown", [_runAs, _root], CommandTimeout, cancellationToken).ConfigureAwait(false);
        }

        var passwordFile = Path.Combine(_root, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password, cancellationToken).ConfigureAwait(false);
        if (_runAs is not null)
        {
            await ProcessRunner.RunAsync("chown", [_runAs, passwordFile], CommandTimeout, cancellationToken).ConfigureAwait(false);
        }

        ServerJanitor.Track(this);
        ServerJanitor.StartWatchdog(
            $"{Sudo()}'{Path.Combine(_binDirectory, "pg_ctl")}' stop -D '{_dataDirectory}' -m immediate -w; rm -rf '{_root}'");

        await RunAsync("initdb", ["-D", _dataDirectory, "-U", Superuser, "--pwfile", passwordFile, "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "-N"], cancellationToken).ConfigureAwait(false);
        File.Delete(passwordFile);

        // Tuned for throwaway test instances: fast, loopback only, no socket file outside our directory.
        var settings = string.Join('\n',
            $"port = {Port}",
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{_root}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
            "shared_buffers = 32MB",
            "log_min_messages = warning",
            "");
        await File.AppendAllTextAsync(Path.Combine(_dataDirectory, "postgresql.conf"), settings, cancellationToken).ConfigureAwait(false);
    }

    private Task<string> PgCtlAsync(string[] arguments, CancellationToken cancellationToken) => RunAsync("pg_ctl", arguments, cancellationToken);

    private Task<string> RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var psi = StartInfo(tool, arguments);
        return ProcessRunner.RunAsync(psi.FileName, psi.ArgumentList, CommandTimeout, cancellationToken);
    }

    private ProcessStartInfo StartInfo(string tool, string[] arguments)
    {
        var path = Path.Combine(_binDirectory, tool);
        var psi = new ProcessStartInfo(_runAs is null ? path : "runuser") { UseShellExecute = false };
        if (_runAs is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(_runAs);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(path);
        }

        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        return psi;
    }

    private string Sudo() => _runAs is null ? string.Empty : $"runuser -u {_runAs} -- ";

    private static string RandomPassword() => "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file still held open at exit; the watchdog removes the directory once the process is gone.
        }
    }
}
