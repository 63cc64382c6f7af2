using System.Net;
using System.Net.Sockets;

namespace Reconciliation.Http.Tests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port with nothing listening on it (bound, read and released).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
