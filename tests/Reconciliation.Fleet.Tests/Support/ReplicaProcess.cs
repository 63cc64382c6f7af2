using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Reconciliation.Fleet.Tests.Support;

/// <summary>
/// One replica: tests/Reconciliation.ReplicaHost run as its own OS process (<c>dotnet Reconciliation.ReplicaHost.dll</c>),
/// connection strings passed in its environment only. Its stdout lines are parsed as they come; tests wait on them.
/// Killed for real: <see cref="Kill"/> is SIGKILL, <see cref="PauseAsync"/> / <see cref="ResumeAsync"/> are SIGSTOP / SIGCONT.
/// </summary>
internal sealed class ReplicaProcess : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(45);

    private readonly Process _process;
    private readonly List<HostLine> _lines = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _exited;
    private bool _disposed;
    private int? _exitCode;

    private ReplicaProcess(string replica, Process process, int generation)
    {
        Replica = replica;
        _process = process;
        Generation = generation;
        Pid = process.Id;
    }

    public string Replica { get; }

    /// <summary>1 for the first process of a replica, 2 after one restart, ...</summary>
    public int Generation { get; }

    public int Pid { get; }

    public bool HasExited => _disposed || _process.HasExited;

    public int ExitCode => _exitCode ?? _process.ExitCode;

    public IReadOnlyList<HostLine> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public static ReplicaProcess Start(string replica, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, int generation = 1)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(HostDll());
        start.ArgumentList.Add("--replica");
        start.ArgumentList.Add(replica);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        // The host stops itself when this test process is gone (a crashed run leaves no replica behind).
        start.Environment["RECONCILIATION_HOST_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var replicaProcess = new ReplicaProcess(replica, process, generation);
        process.OutputDataReceived += (_, e) => replicaProcess.Add(e.Data, stderr: false);
        process.ErrorDataReceived += (_, e) => replicaProcess.Add(e.Data, stderr: true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return replicaProcess;
    }

    /// <summary>The first line (already printed or still to come) that matches; fails the test naming <paramref name="what"/> after the timeout.</summary>
    public async Task<HostLine> WaitForAsync(Func<HostLine, bool> match, string what, TimeSpan? timeout = null, int from = 0)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout ?? DefaultWait);
        var index = from;
        while (true)
        {
            Task changed;
            lock (_lines)
            {
                for (; index < _lines.Count; index++)
                {
                    if (match(_lines[index]))
                    {
                        return _lines[index];
                    }
                }

                if (_exited)
                {
                    Assert.Fail($"replica {Replica} (pid {Pid}) exited before {what}");
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"replica {Replica} (pid {Pid}): timed out after {timeout ?? DefaultWait} waiting for {what}");
            }
        }
    }

    /// <summary>Waits for the next line of type <paramref name="type"/> matching <paramref name="match"/>.</summary>
    public Task<HostLine> WaitForAsync(string type, Func<HostLine, bool> match, string what, TimeSpan? timeout = null, int from = 0) =>
        WaitForAsync(l => l.Is(type) && match(l), what, timeout, from);

    /// <summary>How many lines have arrived so far (to wait only for later ones).</summary>
    public int Count
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>SIGKILL: no shutdown, no last write.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>SIGSTOP: the process freezes (timers, renewals, everything) until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    /// <summary>Waits (bounded) for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, string why)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"replica {Replica} (pid {Pid}) did not exit within {timeout}: expected because {why}");
        }

        // The asynchronous readers deliver the last lines after the exit: the parameterless wait drains them.
        await _process.WaitForExitAsync(CancellationToken.None);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                // A paused process must be continued to die cleanly for the readers (SIGKILL works on it anyway).
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
            }
        }

        _exitCode = _process.HasExited ? _process.ExitCode : -1;
        _disposed = true;
        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("/bin/kill", [signal, Pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(kill.ExitCode == 0, $"kill {signal} {Pid} failed with {kill.ExitCode}");
    }

    private void Add(string? data, bool stderr)
    {
        TaskCompletionSource changed;
        lock (_lines)
        {
            if (data is null)
            {
                if (!stderr)
                {
                    _exited = true;
                }
            }
            else
            {
                _lines.Add(HostLine.Parse(data, stderr));
            }

            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private static string HostDll()
    {
        // tests/Reconciliation.Fleet.Tests/bin/<Configuration>/<tfm>/ -> tests/Reconciliation.ReplicaHost/bin/<Configuration>/<tfm>/
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDirectory.Name;
        var configuration = baseDirectory.Parent!.Name;
        var testsRoot = baseDirectory.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(testsRoot, "Reconciliation.ReplicaHost", "bin", configuration, tfm, "Reconciliation.ReplicaHost.dll");
        Assert.True(File.Exists(dll), $"the replica host is not built: {dll}");
        return dll;
    }
}
