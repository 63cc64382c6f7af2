using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reconciliation.PgBouncer.Tests.Console;

/// <summary>
/// A tiny TCP peer that reads whatever the client sends and answers with scripted bytes, to test how our protocol parser
/// handles replies a real PgBouncer never sends: cut short, oversized, garbage, silence. Real-server behaviour is tested
/// against the real PgBouncer elsewhere.
/// </summary>
internal sealed class FakePeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _serve;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>
    /// Starts a peer. <paramref name="script"/> gets the accepted stream; it usually reads the startup message and writes a reply.
    /// </summary>
    public FakePeer(Func<NetworkStream, CancellationToken, Task> script)
    {
        _listener.Start();
        _serve = Task.Run(async () =>
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var stream = client.GetStream();
            try
            {
                await script(stream, _stop.Token);

                // Then stay silent until the test ends (a peer that never answers must not hang the client).
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=admin;Password=secret-pw;SSL Mode=Disable";

    /// <summary>Reads one length-prefixed startup-style packet (no type byte).</summary>
    public static async Task<byte[]> ReadStartupAsync(NetworkStream stream, CancellationToken ct)
    {
        var length = new byte[4];
        await stream.ReadExactlyAsync(length, ct);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(length) - 4];
        await stream.ReadExactlyAsync(body, ct);
        return body;
    }

    /// <summary>Reads one typed message.</summary>
    public static async Task<(char Type, byte[] Body)> ReadMessageAsync(NetworkStream stream, CancellationToken ct)
    {
        var header = new byte[5];
        await stream.ReadExactlyAsync(header, ct);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
        await stream.ReadExactlyAsync(body, ct);
        return ((char)header[0], body);
    }

    public static byte[] Message(char type, params byte[][] parts)
    {
        var body = parts.SelectMany(p => p).ToArray();
        var message = new byte[5 + body.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), body.Length + 4);
        body.CopyTo(message, 5);
        return message;
    }

    public static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Int16(short value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] CString(string value) => [.. Encoding.UTF8.GetBytes(value), 0];

    public static byte[] AuthOk => Message('R', Int32(0));

    public static byte[] ReadyForQuery => Message('Z', [(byte)'I']);

    public static byte[] RowDescription(params string[] columns) =>
        Message('T', Int16((short)columns.Length), columns.SelectMany(c => CString(c).Concat(new byte[18])).ToArray());

    public static byte[] DataRow(params string?[] values) =>
        Message('D', Int16((short)values.Length), values.SelectMany(v => v is null ? Int32(-1) : Int32(Encoding.UTF8.GetByteCount(v)).Concat(Encoding.UTF8.GetBytes(v))).ToArray());

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _serve;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
