using System.Diagnostics;
using System.Text;

namespace Reconciliation.Tool.Tests;

/// <summary>One run of the installed <c>reconcile</c> command as its own OS process.</summary>
internal sealed class ToolProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ToolProcess(Process process) => _process = process;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Both streams, for assertion messages and secret checks.</summary>
    public string Output => Stdout + Stderr;

    public int ExitCode => _process.ExitCode;

    /// <summary>Completes with <c>reconcile watch</c>'s "serving ..." line.</summary>
    public Task<string> Serving => _serving.Task;

    public static ToolProcess Start(string command, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var psi = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var tool = new ToolProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (tool._stdout)
            {
                tool._stdout.AppendLine(e.Data);
            }

            if (e.Data.StartsWith("reconcile watch: serving", StringComparison.Ordinal))
            {
                tool._serving.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (tool._stderr)
                {
                    tool._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Exited += (_, _) =>
        {
            tool._exited.TrySetResult();
            tool._serving.TrySetException(new InvalidOperationException("reconcile exited before it was serving."));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tool;
    }

    /// <summary>Runs the command to its end and returns the process (exit code, output).</summary>
    public static async Task<ToolProcess> RunAsync(string command, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken,
        params string[] arguments)
    {
        var tool = Start(command, environment, arguments);
        await tool.WaitForExitAsync(cancellationToken);
        return tool;
    }

    public async Task WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _exited.Task.WaitAsync(cancellationToken);
        await _process.WaitForExitAsync(cancellationToken); // the output streams are drained too
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
