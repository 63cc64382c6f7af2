using System.Diagnostics;
using System.Globalization;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>
/// A test host (tests/Reconciliation.ChaosHost or tests/Reconciliation.Queue.WorkerHost) run as its own OS process:
/// <c>dotnet &lt;host&gt;.dll</c>, secrets in its environment only, every output line into the storm's <see cref="LineLog"/>.
/// <see cref="KillAsync"/> is SIGKILL.
/// </summary>
internal sealed class ChaosProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChaosProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        Pid = process.Id;
    }

    public string Name { get; }

    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Set when the harness killed it on purpose (an exit is then no failure).</summary>
    public bool Killed { get; private set; }

    public static ChaosProcess Start(string name, string project, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, LineLog log)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(HostDll(project));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["RECONCILIATION_HOST_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var chaos = new ChaosProcess(name, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Add(ChaosLine.Parse(name, e.Data, stderr: false));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Add(ChaosLine.Parse(name, e.Data, stderr: true));
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return chaos;
    }

    /// <summary>SIGKILL: no shutdown, leases and connections left as they are.</summary>
    public async Task KillAsync()
    {
        Killed = true;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Killed = true;
            try
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
            }
        }

        _process.Dispose();
    }

    private static string HostDll(string project)
    {
        // tests/Reconciliation.Chaos.Tests/bin/<Configuration>/<tfm>/ -> tests/<project>/bin/<Configuration>/<tfm>/
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDirectory.Name;
        var configuration = baseDirectory.Parent!.Name;
        var testsRoot = baseDirectory.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(testsRoot, project, "bin", configuration, tfm, project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"the host {project} is not built", dll);
    }
}
