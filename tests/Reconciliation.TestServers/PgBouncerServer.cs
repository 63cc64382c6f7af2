using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Reconciliation.TestServers;

/// <summary>
/// A throwaway PgBouncer from Debian's <c>pgbouncer</c> package in front of a throwaway <see cref="PostgresServer"/>: its own
/// free port on 127.0.0.1, a temporary directory, an admin user and one user per client authentication method
/// (<c>md5</c>, <c>SCRAM-SHA-256</c>, cleartext) with random passwords, chosen per user through an HBA file. Server
/// connections log in to PostgreSQL as its superuser. Run through a non-root user when the tests run as root (PgBouncer
/// refuses root). Stops and deletes itself on dispose, at process exit, on Ctrl-C, and through a watchdog if the process is killed.
/// </summary>
public sealed class PgBouncerServer : IAsyncDisposable, IThrowawayServer
{
    /// <summary>The admin console user (<c>admin_users</c>); logs in with SCRAM-SHA-256.</summary>
    public const string AdminUser = "pgb_admin";

    /// <summary>A client user the pooler authenticates with <c>md5</c>.</summary>
    public const string Md5User = "pgb_md5";

    /// <summary>A client user the pooler authenticates with <c>SCRAM-SHA-256</c>.</summary>
    public const string ScramUser = "pgb_scram";

    /// <summary>A client user the pooler authenticates with a cleartext password.</summary>
    public const string CleartextUser = "pgb_plain";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly string _root;
    private readonly string _binary;
    private readonly string? _runAs;
    private readonly PostgresServer _backend;
    private readonly PgBouncerServerOptions _options;
    private readonly Dictionary<string, string> _passwords;
    private bool _disposed;

    private PgBouncerServer(string root, string binary, string? runAs, int port, PostgresServer backend, PgBouncerServerOptions options)
    {
        _root = root;
        _binary = binary;
        _runAs = runAs;
        _backend = backend;
        _options = options;
        Port = port;
        _passwords = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AdminUser] = RandomPassword(),
            [Md5User] = RandomPassword(),
            [ScramUser] = RandomPassword(),
            [CleartextUser] = RandomPassword(),
        };
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>True between a successful start and a stop.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The admin user's password, random per instance (tests use it to prove it never leaks).</summary>
    public string AdminPassword => _passwords[AdminUser];

    /// <summary>An admin console connection string (database <c>pgbouncer</c>) in Npgsql's format.</summary>
    public string AdminConnectionString => ConnectionStringFor("pgbouncer", AdminUser, pooling: false);

    /// <summary>The log file's text (for failure messages).</summary>
    public string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    /// <summary>The full path of <c>pgbouncer</c>, or <see langword="null"/>.</summary>
    public static string? FindBinary() => ServerBinaries.FindOnPath("pgbouncer")
        ?? (File.Exists("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : null);

    /// <summary>Starts a pooler in front of <paramref name="backend"/>. Throws <see cref="TestServerUnavailableException"/> with the reason when it cannot.</summary>
    public static async Task<PgBouncerServer> StartAsync(PostgresServer backend, PgBouncerServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        var binary = FindBinary()
            ?? throw new TestServerUnavailableException("PgBouncer is not installed (no pgbouncer on PATH or in /usr/sbin).");

        string? runAs = null;
        if (ProcessRunner.IsRoot)
        {
            // PgBouncer refuses root ("PgBouncer should not run as root"): the account Debian's PostgreSQL package creates, else nobody.
            runAs = File.ReadAllLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)) ? "postgres" : "nobody";
        }

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var root = Directory.CreateTempSubdirectory("reconciliation-pgbouncer-").FullName;
            var server = new PgBouncerServer(root, binary, runAs, FreePort.Next(), backend, options);
            try
            {
                ServerJanitor.Track(server);
                ServerJanitor.StartWatchdog($"[ -f '{server.PidFile}' ] && kill -9 $(cat '{server.PidFile}'); rm -rf '{root}'");
                await server.WriteConfigurationAsync(cancellationToken).ConfigureAwait(false);
                await server.StartAgainAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException)
            {
                // Most likely another process took the port between FreePort.Next() and the bind: try a new one.
                last = e;
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw new TestServerUnavailableException($"PgBouncer could not be started: {last?.Message}", last);
    }

    /// <summary>The password of one of the users (<see cref="AdminUser"/>, <see cref="Md5User"/>, <see cref="ScramUser"/>, <see cref="CleartextUser"/>).</summary>
    public string PasswordOf(string user) => _passwords[user];

    /// <summary>A connection string to pooler database <paramref name="database"/> as <paramref name="user"/> in Npgsql's format.</summary>
    public string ConnectionStringFor(string database, string user = ScramUser, bool pooling = true, string? applicationName = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Password = _passwords[user],
            Database = database,
            Pooling = pooling,
            Timeout = 5,
            SslMode = _options.RequireTls ? SslMode.Require : SslMode.Disable,
        };
        if (applicationName is not null)
        {
            builder.ApplicationName = applicationName;
        }

        return builder.ConnectionString;
    }

    /// <summary>Stops the pooler (SIGKILL: as a crash would), keeping its configuration for a restart.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!IsRunning)
        {
            return;
        }

        if (ReadPid() is { } pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                // Already exited.
            }
        }

        TryDeleteFile(PidFile);
        IsRunning = false;
    }

    /// <summary>Starts the pooler again on the same port (after <see cref="StopAsync"/>).</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        var psi = new ProcessStartInfo(_runAs is null ? _binary : "runuser") { UseShellExecute = false };
        if (_runAs is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(_runAs);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(_binary);
        }

        psi.ArgumentList.Add("-d"); // daemonize: the pid file is how it is stopped
        psi.ArgumentList.Add(ConfigFile);
        await ProcessRunner.RunAsync(psi.FileName, psi.ArgumentList, CommandTimeout, cancellationToken).ConfigureAwait(false);
        await WaitUntilListeningAsync(cancellationToken).ConfigureAwait(false);
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
        if (ReadPid() is { } pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        TryDelete();
    }

    private string PidFile => Path.Combine(_root, "pgbouncer.pid");

    private string LogFile => Path.Combine(_root, "pgbouncer.log");

    private string ConfigFile => Path.Combine(_root, "pgbouncer.ini");

    private async Task WriteConfigurationAsync(CancellationToken cancellationToken)
    {
        static string Quoted(string value) => "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

        var databases = new StringBuilder("[databases]\n");
        foreach (var db in _options.Databases)
        {
            databases.Append(CultureInfo.InvariantCulture,
                $"{db.Name} = host=127.0.0.1 port={_backend.Port} dbname={db.BackendDatabase} user={PostgresServer.Superuser} password={_backend.Password}");
            if (db.PoolMode is not null)
            {
                databases.Append(" pool_mode=").Append(db.PoolMode);
            }

            if (db.PoolSize is { } size)
            {
                databases.Append(CultureInfo.InvariantCulture, $" pool_size={size}");
            }

            databases.Append('\n');
        }

        var settings = new List<string>
        {
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            $"listen_port = {Port.ToString(CultureInfo.InvariantCulture)}",
            "unix_socket_dir =",
            "auth_type = hba",
            $"auth_hba_file = {Path.Combine(_root, "hba.conf")}",
            $"auth_file = {Path.Combine(_root, "userlist.txt")}",
            $"admin_users = {AdminUser}",
            $"pidfile = {PidFile}",
            $"logfile = {LogFile}",
            $"pool_mode = {_options.PoolMode}",
            $"max_client_conn = {_options.MaxClientConnections.ToString(CultureInfo.InvariantCulture)}",
            $"stats_users = {Md5User}, {ScramUser}, {CleartextUser}",
            "default_pool_size = 20",
            // Npgsql and other drivers send these at startup; the pooler would refuse the login otherwise.
            "ignore_startup_parameters = extra_float_digits,search_path",
            "server_login_retry = 1",
            // SHOW STATS totals are refreshed every stats_period (60 s by default); tests want them within a second.
            "stats_period = 1",
        };

        if (_options.RequireTls)
        {
            var key = Path.Combine(_root, "server.key");
            var certificate = Path.Combine(_root, "server.crt");
            await ProcessRunner.RunAsync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                "-days", "1", "-subj", "/CN=127.0.0.1"], CommandTimeout, cancellationToken).ConfigureAwait(false);
            settings.Add("client_tls_sslmode = require");
            settings.Add($"client_tls_key_file = {key}");
            settings.Add($"client_tls_cert_file = {certificate}");
        }

        await File.WriteAllTextAsync(ConfigFile, databases + "\n" + string.Join('\n', settings) + "\n", cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(_root, "userlist.txt"),
            string.Concat(_passwords.Select(p => $"{Quoted(p.Key)} {Quoted(p.Value)}\n")), cancellationToken).ConfigureAwait(false);

        // hostssl when TLS is required, so a plain connection is refused by the HBA file too.
        var kind = _options.RequireTls ? "hostssl" : "host";
        await File.WriteAllTextAsync(Path.Combine(_root, "hba.conf"), string.Join('\n',
            $"{kind} all {AdminUser} 127.0.0.1/32 scram-sha-256",
            $"{kind} all {Md5User} 127.0.0.1/32 md5",
            $"{kind} all {ScramUser} 127.0.0.1/32 scram-sha-256",
            $"{kind} all {CleartextUser} 127.0.0.1/32 password",
            ""), cancellationToken).ConfigureAwait(false);

        if (_runAs is not null)
        {
            await ProcessRunner.RunAsync("chown", ["-R", _runAs, _root], CommandTimeout, cancellationToken).ConfigureAwait(false);
        }

        // The configuration holds passwords: readable by the pooler's account only.
        await ProcessRunner.RunAsync("chmod", ["-R", "go-rwx", _root], CommandTimeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        // -d returns once the daemon forked; wait for the pid file and the listener.
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < CommandTimeout)
        {
            if (ReadPid() is not null)
            {
                try
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync("127.0.0.1", Port, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (SocketException e)
                {
                    last = e;
                }
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"PgBouncer on port {Port} did not listen within {CommandTimeout}: {last?.Message}{Environment.NewLine}{ReadLog()}");
    }

    private int? ReadPid()
    {
        try
        {
            return int.Parse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string RandomPassword() => "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
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
            // The watchdog removes the directory once the process is gone.
        }
    }
}
