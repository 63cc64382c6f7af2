using System.Net;
using System.Net.Sockets;

namespace Reconciliation.TestServers;

/// <summary>Asks the kernel for a free TCP port on 127.0.0.1, so concurrent test runs never share one.</summary>
public static class FreePort
{
    /// <summary>Returns a port that was free a moment ago. Servers retry with another when they lose the race.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
