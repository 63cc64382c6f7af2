using System.Diagnostics;
using System.Text;
using Reconciliation.TestServers;

namespace Reconciliation.Observability.Tests.Prometheus;

/// <summary>
/// Debian's <c>prometheus</c> package (installed by eng/install-servers.sh): <c>promtool</c>, and a throwaway Prometheus
/// server (temporary data directory, free loopback port) run as its own process and killed at the end.
/// </summary>
internal sealed class PrometheusTool : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private PrometheusTool(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/api/v1/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public HttpClient Api { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The repository's root (where Reconciliation.sln is).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Reconciliation.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Reconciliation.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The path of a Prometheus binary; skips the test locally (fails it under CI=true) when it is not installed.</summary>
    public static string Require(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin"))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        var message = $"{name} is not installed: run bash eng/install-servers.sh (Debian's prometheus package).";
        if (TestServerUnavailableException.IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        throw new InvalidOperationException(message);
    }

    /// <summary>Runs a tool to its end; returns its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Require(tool)) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts Prometheus with <paramref name="configuration"/> (prometheus.yml text) and <paramref name="ruleFiles"/> copied beside it.</summary>
    public static async Task<PrometheusTool> StartAsync(string configuration, params string[] ruleFiles)
    {
        var binary = Require("prometheus");
        var directory = Directory.CreateTempSubdirectory("reconciliation-prometheus-").FullName;
        foreach (var file in ruleFiles)
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), configuration, TestContext.Current.CancellationToken);
        var port = FreePort.Next();
        var start = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var argument in new[]
                 {
                     "--config.file=" + Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                     $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var tool = new PrometheusTool(process, directory, port);
        process.OutputDataReceived += (_, e) => tool.Append(e.Data);
        process.ErrorDataReceived += (_, e) => tool.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tool;
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
