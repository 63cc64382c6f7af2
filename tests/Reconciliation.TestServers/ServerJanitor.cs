using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Reconciliation.TestServers;

/// <summary>
/// Makes sure no throwaway server outlives the process that started it: on normal exit, on Ctrl-C and
/// SIGTERM, and — through a detached watchdog that polls the owner's pid — even when the process is killed.
/// </summary>
internal static class ServerJanitor
{
    private static readonly ConcurrentDictionary<IThrowawayServer, byte> Live = new();
    private static readonly object Gate = new();
    private static bool _hooked;
    private static PosixSignalRegistration? _sigint;
    private static PosixSignalRegistration? _sigterm;

    public static void Track(IThrowawayServer server)
    {
        EnsureHooked();
        Live.TryAdd(server, 0);
    }

    public static void Untrack(IThrowawayServer server) => Live.TryRemove(server, out _);

    /// <summary>Starts a detached shell that runs <paramref name="cleanup"/> once this process is gone.</summary>
    public static void StartWatchdog(string cleanup)
    {
        var script = $"exec >/dev/null 2>&1 </dev/null; while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {cleanup}";
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "/bin/sh") { UseShellExecute = false };
        if (psi.FileName.EndsWith("setsid", StringComparison.Ordinal))
        {
            psi.ArgumentList.Add("/bin/sh");
        }

        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var _ = Process.Start(psi);
    }

    private static void EnsureHooked()
    {
        lock (Gate)
        {
            if (_hooked)
            {
                return;
            }

            _hooked = true;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
            // Do not cancel the signal: stop the servers, then let the default handling end the process.
            _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => StopAll());
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => StopAll());
        }
    }

    private static void StopAll()
    {
        foreach (var server in Live.Keys)
        {
            try
            {
                server.DestroyNow();
            }
            catch (Exception)
            {
                // Best effort at exit: the watchdog cleans up whatever is left.
            }
        }
    }
}

/// <summary>A server the janitor can tear down synchronously at process exit.</summary>
internal interface IThrowawayServer
{
    void DestroyNow();
}
