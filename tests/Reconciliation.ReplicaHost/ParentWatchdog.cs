using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// Stops this replica when the test process that started it is gone (<c>RECONCILIATION_HOST_PARENT_PID</c>), so a test
/// run that crashed or was killed never leaves replicas ticking against servers that no longer exist.
/// </summary>
internal sealed class ParentWatchdog(IHostApplicationLifetime lifetime, TimeProvider time) : BackgroundService
{
    public const string Variable = "RECONCILIATION_HOST_PARENT_PID";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent))
        {
            return;
        }

        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!IsAlive(parent))
                {
                    Output.Line("orphaned", json => json.WriteNumber("parent", parent));
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
