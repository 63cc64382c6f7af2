using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Reconciliation.Fleet.Tests.Support;
using Reconciliation.TestServers;

namespace Reconciliation.Observability.Tests.Probes;

/// <summary>
/// Liveness and readiness for a worker without an HTTP server, seen from outside as Kubernetes sees them: a worker host
/// runs as its own OS process; the test reads its heartbeat file's age, runs the documented <c>exec</c> probe command,
/// and connects to its TCP probe ports, while the loop runs, while a probe hangs (Unhealthy) and after it recovers.
/// </summary>
public sealed class WorkerProbesTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("reconciliation-heartbeat-").FullName;

    /// <summary>The exec probe command of docs/observability.md, with its threshold in seconds.</summary>
    internal static string ExecProbe(string file, int seconds) =>
        $"test $(( $(date +%s) - $(stat -c %Y {file}) )) -lt {seconds.ToString(CultureInfo.InvariantCulture)}";

    [Fact]
    public async Task The_heartbeat_file_ages_and_the_probe_ports_close_while_a_probe_hangs_and_both_come_back_when_it_recovers()
    {
        var heartbeat = Path.Combine(_work, "run", "heartbeat");
        var faults = Path.Combine(_work, "faults");
        var (livePort, readyPort) = (FreePort.Next(), FreePort.Next());
        await File.WriteAllTextAsync(faults, "", TestContext.Current.CancellationToken);
        var rules = Path.Combine(_work, "rules.json");
        await File.WriteAllTextAsync(rules, $$"""
            {
              "Reconciliation": {
                "Interval": "00:00:00.250",
                "ProbeTimeout": "00:00:00.200",
                "WarmUp": "00:00:00",
                "Heartbeat": { "File": "{{heartbeat}}", "LivenessPort": {{livePort}}, "ReadinessPort": {{readyPort}} },
                "Rules": {
                  "worker-probe-down": { "Signal": "probe.failed", "Resource": "local", "Above": 0.5, "Severity": "Unhealthy", "Tags": [ "live" ] }
                }
              }
            }
            """, TestContext.Current.CancellationToken);
        await using var worker = ReplicaProcess.Start("worker", ["--fault-file", faults, "--rules", rules], new Dictionary<string, string>());
        await worker.WaitForAsync(l => l.Is("ready") || l.Is("fatal") || l.String("level") is "Error" or "Critical", "the worker started");
        Assert.True(worker.Lines.Any(l => l.Is("ready")), string.Join(Environment.NewLine, worker.Lines.Select(l => l.Raw)));

        // Running: the file is touched tick after tick, the exec probe passes, both ports accept.
        await Eventually.UntilAsync(() => Task.FromResult(File.Exists(heartbeat)), "the heartbeat file exists");
        var first = File.GetLastWriteTimeUtc(heartbeat);
        await Eventually.UntilAsync(() => Task.FromResult(File.GetLastWriteTimeUtc(heartbeat) > first), "the heartbeat file is touched again");
        Assert.True(Age(heartbeat) < TimeSpan.FromSeconds(2), $"age {Age(heartbeat)}");
        Assert.Equal(0, await ShAsync(ExecProbe(heartbeat, 3)));
        Assert.True(await AcceptsAsync(livePort), "liveness port accepts while the loop runs");
        Assert.True(await AcceptsAsync(readyPort), "readiness port accepts while the loop runs");

        // Stalled: the probe of 'local' hangs until its timeout; the live rule on probe.failed opens Unhealthy.
        await File.WriteAllTextAsync(faults, "local.hang=1\n", TestContext.Current.CancellationToken);
        await worker.WaitForAsync("event", l => l.String("kind") == "ViolationOpened" && l.String("rule") == "worker-probe-down", "the live rule opened");
        await Eventually.UntilAsync(async () => !await AcceptsAsync(livePort), "the liveness port refuses");
        await Eventually.UntilAsync(async () => !await AcceptsAsync(readyPort), "the readiness port refuses while Unhealthy"); // each port follows its own health check
        var stalledAt = File.GetLastWriteTimeUtc(heartbeat);
        // The file ages: well past any tick interval (0.25 s), and the documented exec probe fails on it.
        await Eventually.UntilAsync(async () => await ShAsync(ExecProbe(heartbeat, 2)) != 0, "the exec probe fails on the aged file", TimeSpan.FromSeconds(30));
        Assert.Equal(stalledAt, File.GetLastWriteTimeUtc(heartbeat));
        // The command compares whole seconds: a difference of 2 or more means more than 1 s really passed.
        Assert.True(Age(heartbeat) > TimeSpan.FromSeconds(1), $"age {Age(heartbeat)}");
        Assert.False(worker.HasExited);

        // Recovered: the probe answers again, the violation closes, the file is touched and the ports accept again.
        await File.WriteAllTextAsync(faults, "", TestContext.Current.CancellationToken);
        await Eventually.UntilAsync(() => Task.FromResult(File.GetLastWriteTimeUtc(heartbeat) > stalledAt), "the heartbeat file is touched after recovery", TimeSpan.FromSeconds(30));
        Assert.True(Age(heartbeat) < TimeSpan.FromSeconds(2), $"age {Age(heartbeat)}");
        Assert.Equal(0, await ShAsync(ExecProbe(heartbeat, 3)));
        await Eventually.UntilAsync(() => AcceptsAsync(livePort), "the liveness port accepts again");
        await Eventually.UntilAsync(() => AcceptsAsync(readyPort), "the readiness port accepts again");
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static TimeSpan Age(string file) => TimeProvider.System.GetUtcNow().UtcDateTime - File.GetLastWriteTimeUtc(file);

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<int> ShAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false })!;
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return process.ExitCode;
    }
}
