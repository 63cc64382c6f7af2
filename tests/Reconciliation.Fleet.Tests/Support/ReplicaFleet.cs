using System.Globalization;
using System.Text;
using Xunit;

namespace Reconciliation.Fleet.Tests.Support;

/// <summary>
/// The replicas of one test: their shared fault file and rules file in a temporary directory, the environment that
/// carries the connection strings (the only place secrets go), every process started (restarts included), and on
/// dispose every process killed and their output written to the test's log.
/// </summary>
internal sealed class ReplicaFleet : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("reconciliation-fleet-").FullName;
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);
    private readonly List<string> _secrets = [];
    private readonly List<ReplicaProcess> _processes = [];
    private readonly SortedDictionary<string, string> _fault = new(StringComparer.Ordinal);

    public ReplicaFleet(string rulesJson, params string[] arguments)
    {
        RulesFile = Path.Combine(_directory, "rules.json");
        FaultFile = Path.Combine(_directory, "fault");
        File.WriteAllText(RulesFile, rulesJson);
        File.WriteAllText(FaultFile, string.Empty);
        Arguments = ["--rules", RulesFile, "--fault-file", FaultFile, .. arguments];
    }

    public string RulesFile { get; }

    public string FaultFile { get; }

    public string[] Arguments { get; }

    public IReadOnlyList<ReplicaProcess> Processes
    {
        get
        {
            lock (_processes)
            {
                return [.. _processes];
            }
        }
    }

    /// <summary>Puts a connection string in the replicas' environment; <paramref name="secret"/> is what must never be printed.</summary>
    public void SetEnvironment(string name, string value, string? secret)
    {
        _environment[name] = value;
        if (!string.IsNullOrEmpty(secret))
        {
            _secrets.Add(secret);
        }
    }

    /// <summary>Writes the fault file (atomically: a replica never reads half of it).</summary>
    public void SetFault(string key, double value)
    {
        _fault[key] = value.ToString(CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        foreach (var (k, v) in _fault)
        {
            text.Append(k).Append('=').Append(v).Append('\n');
        }

        var temporary = FaultFile + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, FaultFile, overwrite: true);
    }

    /// <summary>Starts a process of <paramref name="replica"/> (a later call for the same replica is its restart).</summary>
    public ReplicaProcess Start(string replica, params string[] extra)
    {
        lock (_processes)
        {
            var generation = _processes.Count(p => p.Replica == replica) + 1;
            var process = ReplicaProcess.Start(replica, [.. Arguments, .. extra], _environment, generation);
            _processes.Add(process);
            return process;
        }
    }

    /// <summary>Starts the replicas and waits until each has finished a first tick.</summary>
    public async Task<ReplicaProcess[]> StartAsync(params string[] replicas)
    {
        var started = replicas.Select(r => Start(r)).ToArray();
        foreach (var process in started)
        {
            await process.WaitForAsync("tick", _ => true, "its first tick");
        }

        return started;
    }

    /// <summary>Every line of type <paramref name="type"/> any process printed so far, with its process.</summary>
    public IEnumerable<(ReplicaProcess Process, HostLine Line)> Lines(string type) =>
        Processes.SelectMany(p => p.Lines.Where(l => l.Is(type)).Select(l => (p, l)));

    /// <summary>Waits until some process printed a line of <paramref name="type"/> matching <paramref name="match"/>.</summary>
    public async Task<(ReplicaProcess Process, HostLine Line)> WaitForAnyAsync(string type, Func<ReplicaProcess, HostLine, bool> match, string what, TimeSpan? timeout = null)
    {
        (ReplicaProcess, HostLine)? found = null;
        var held = await Eventually.HoldsAsync(() =>
        {
            foreach (var (process, line) in Lines(type))
            {
                if (match(process, line))
                {
                    found = (process, line);
                    return Task.FromResult(true);
                }
            }

            return Task.FromResult(false);
        }, timeout ?? ReplicaProcess.DefaultWait);
        Assert.True(held, $"timed out after {timeout ?? ReplicaProcess.DefaultWait} waiting until {what}");
        return found!.Value;
    }

    /// <summary>No process printed a connection string's secret (password) on stdout or stderr.</summary>
    public void AssertNoSecretPrinted()
    {
        foreach (var process in Processes)
        {
            foreach (var line in process.Lines)
            {
                foreach (var secret in _secrets)
                {
                    Assert.False(line.Raw.Contains(secret, StringComparison.Ordinal), $"replica {process.Replica} printed a secret: {line.Type} line");
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes)
        {
            await process.DisposeAsync();
        }

        var log = TestContext.Current.TestOutputHelper;
        if (log is not null)
        {
            foreach (var process in Processes)
            {
                log.WriteLine($"--- replica {process.Replica} #{process.Generation} (pid {process.Pid}, exit {(process.HasExited ? process.ExitCode : -1)})");
                foreach (var line in process.Lines.Where(l => !l.Is("tick")))
                {
                    log.WriteLine(line.Raw);
                }
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
