using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Npgsql;

namespace Reconciliation.PgBouncer;

/// <summary>
/// A minimal client of PgBouncer's admin console on the PostgreSQL wire protocol, simple query flavour only (the console
/// does not implement Parse/Bind, which is all Npgsql speaks). Startup, cleartext / <c>md5</c> / <c>SCRAM-SHA-256</c>
/// login, optional TLS, <c>Query</c>, and text rows. Every read is bounded in size and in time: a reply that is cut short,
/// oversized or not the protocol fails with <see cref="PgBouncerProtocolException"/>, a silent peer with
/// <see cref="PgBouncerTimeoutException"/>, an error reply with <see cref="PgBouncerErrorException"/>. Not thread-safe:
/// one conversation at a time (the owner serialises).
/// </summary>
internal sealed class PgBouncerConsoleConnection : IAsyncDisposable
{
    /// <summary>The largest message accepted from the pooler (a SHOW reply row set is far smaller).</summary>
    internal const int MaxMessageLength = 16 * 1024 * 1024;

    private const int ProtocolVersion3 = 196608;
    private const int SslRequestCode = 80877103;
    private const int HeaderLength = 5;

    private readonly PgBouncerEndpoint _endpoint;
    private readonly TimeSpan _timeout;
    private readonly TcpClient _tcp;
    private Stream _stream;
    private byte[] _buffer = new byte[8192];
    private bool _broken;

    private PgBouncerConsoleConnection(PgBouncerEndpoint endpoint, TimeSpan timeout, TcpClient tcp)
    {
        _endpoint = endpoint;
        _timeout = timeout;
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>False once a conversation failed midway: the stream may be out of step, so the owner opens a new connection.</summary>
    public bool IsUsable => !_broken;

    /// <summary>Connects, negotiates TLS when asked, and logs in, all within <paramref name="timeout"/>.</summary>
    public static async Task<PgBouncerConsoleConnection> OpenAsync(PgBouncerEndpoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        PgBouncerConsoleConnection? connection = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            try
            {
                await tcp.ConnectAsync(endpoint.Host, endpoint.Port, deadline.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new PgBouncerException($"Could not connect to the PgBouncer admin console at {endpoint}: {e.SocketErrorCode}.", e);
            }

            connection = new PgBouncerConsoleConnection(endpoint, timeout, tcp);
            await connection.StartAsync(deadline.Token).ConfigureAwait(false);
            return connection;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeQuietly(connection, tcp).ConfigureAwait(false);
            throw new PgBouncerTimeoutException($"The PgBouncer admin console at {endpoint} did not complete the login within {timeout.TotalSeconds:0.###} s.", e);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            await DisposeQuietly(connection, tcp).ConfigureAwait(false);
            throw new PgBouncerProtocolException($"The PgBouncer admin console at {endpoint} closed the connection during the login ({e.GetType().Name}).", e);
        }
        catch
        {
            await DisposeQuietly(connection, tcp).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends every command as its own simple <c>Query</c> message in ONE write (the console accepts one statement per
    /// query), then reads the replies in order: one round trip. Throws the first command's error after reading every
    /// reply, so the connection stays in step.
    /// </summary>
    public async Task<IReadOnlyList<PgBouncerResultSet>> QueryAsync(IReadOnlyList<string> commands, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commands);
        if (_broken)
        {
            throw new InvalidOperationException("The admin console connection failed earlier; open a new one.");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            var message = new MemoryStream();
            foreach (var command in commands)
            {
                WriteMessage(message, (byte)'Q', Encoding.UTF8.GetBytes(command + "\0"));
            }

            await _stream.WriteAsync(message.GetBuffer().AsMemory(0, (int)message.Length), deadline.Token).ConfigureAwait(false);
            await _stream.FlushAsync(deadline.Token).ConfigureAwait(false);

            var results = new PgBouncerResultSet[commands.Count];
            PgBouncerErrorException? firstError = null;
            for (var i = 0; i < commands.Count; i++)
            {
                var (result, error) = await ReadReplyAsync(commands[i], deadline.Token).ConfigureAwait(false);
                results[i] = result;
                firstError ??= error;
            }

            if (firstError is not null)
            {
                throw firstError;
            }

            return results;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            _broken = true;
            throw new PgBouncerTimeoutException(
                $"The PgBouncer admin console at {_endpoint} did not answer {string.Join("; ", commands)} within {_timeout.TotalSeconds:0.###} s.", e);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            _broken = true;
            throw new PgBouncerProtocolException($"The PgBouncer admin console at {_endpoint} closed the connection during {string.Join("; ", commands)} ({e.GetType().Name}).", e);
        }
        catch (Exception e) when (e is not PgBouncerErrorException)
        {
            _broken = true;
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_broken)
        {
            try
            {
                // Terminate: the polite goodbye, so the pooler logs a normal disconnect.
                var terminate = new byte[] { (byte)'X', 0, 0, 0, 4 };
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _stream.WriteAsync(terminate, quick.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Already gone.
            }
        }

        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        _tcp.Dispose();
    }

    private static async ValueTask DisposeQuietly(PgBouncerConsoleConnection? connection, TcpClient tcp)
    {
        if (connection is not null)
        {
            connection._broken = true;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            tcp.Dispose();
        }
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_endpoint.SslMode != SslMode.Disable)
        {
            await NegotiateTlsAsync(cancellationToken).ConfigureAwait(false);
        }

        var startup = new MemoryStream();
        var parameters = new MemoryStream();
        WriteCString(parameters, "user");
        WriteCString(parameters, _endpoint.User);
        WriteCString(parameters, "database");
        WriteCString(parameters, PgBouncerEndpoint.ConsoleDatabase);
        WriteCString(parameters, "application_name");
        WriteCString(parameters, _endpoint.ApplicationName);
        parameters.WriteByte(0);
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, (int)parameters.Length + 8);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], ProtocolVersion3);
        startup.Write(header);
        parameters.WriteTo(startup);
        await _stream.WriteAsync(startup.GetBuffer().AsMemory(0, (int)startup.Length), cancellationToken).ConfigureAwait(false);

        await AuthenticateAsync(cancellationToken).ConfigureAwait(false);

        // After AuthenticationOk: ParameterStatus and BackendKeyData until ReadyForQuery.
        while (true)
        {
            var (type, body) = await ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case (byte)'Z':
                    return;
                case (byte)'S' or (byte)'K' or (byte)'N':
                    continue;
                case (byte)'E':
                    throw ErrorFrom(body, "login to the PgBouncer admin console at " + _endpoint);
                default:
                    throw Unexpected(type, "the login");
            }
        }
    }

    private async Task NegotiateTlsAsync(CancellationToken cancellationToken)
    {
        var request = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(request, 8);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), SslRequestCode);
        await _stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        var answer = new byte[1];
        await ReadExactlyAsync(answer, "the answer to SSLRequest", cancellationToken).ConfigureAwait(false);
        if (answer[0] == (byte)'N')
        {
            if (_endpoint.SslMode is SslMode.Require or SslMode.VerifyCA or SslMode.VerifyFull)
            {
                throw new PgBouncerException($"The PgBouncer admin console at {_endpoint} does not offer TLS, and the connection string requires it (SSL Mode={_endpoint.SslMode}).");
            }

            return;
        }

        if (answer[0] != (byte)'S')
        {
            throw new PgBouncerProtocolException($"The PgBouncer admin console at {_endpoint} answered SSLRequest with byte 0x{answer[0]:X2}, neither 'S' nor 'N'.");
        }

        var mode = _endpoint.SslMode;
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, chain, errors) => mode switch
        {
            // As libpq: Require (and Prefer/Allow) encrypt without checking the certificate; VerifyCA checks the chain,
            // VerifyFull the chain and the host name.
            SslMode.VerifyFull => errors == SslPolicyErrors.None,
            SslMode.VerifyCA => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None,
            _ => true,
        });
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = _endpoint.Host,
                EnabledSslProtocols = SslProtocols.None,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            throw new PgBouncerException($"TLS with the PgBouncer admin console at {_endpoint} failed: {e.Message}", e);
        }

        _stream = ssl;
    }

    private async Task AuthenticateAsync(CancellationToken cancellationToken)
    {
        ScramClient? scram = null;
        while (true)
        {
            var (type, body) = await ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            if (type == (byte)'E')
            {
                throw ErrorFrom(body, "login to the PgBouncer admin console at " + _endpoint);
            }

            if (type == (byte)'N')
            {
                continue;
            }

            if (type != (byte)'R')
            {
                throw Unexpected(type, "the login");
            }

            var reader = new BodyReader(body, "Authentication");
            var code = reader.Int32();
            switch (code)
            {
                case 0: // AuthenticationOk
                    return;
                case 3: // cleartext
                    await SendPasswordAsync(Encoding.UTF8.GetBytes(RequirePassword("cleartext") + "\0"), cancellationToken).ConfigureAwait(false);
                    break;
                case 5: // md5
                    var salt = reader.Bytes(4);
                    await SendPasswordAsync(Encoding.ASCII.GetBytes(Md5Response(_endpoint.User, RequirePassword("md5"), salt) + "\0"), cancellationToken).ConfigureAwait(false);
                    break;
                case 10: // SASL: list of mechanisms
                    var mechanisms = new List<string>();
                    while (reader.Remaining > 1)
                    {
                        mechanisms.Add(reader.CString());
                    }

                    if (!mechanisms.Contains(ScramClient.Mechanism))
                    {
                        throw new PgBouncerException($"The PgBouncer admin console at {_endpoint} offers only SASL mechanisms {string.Join(", ", mechanisms)}; this client speaks {ScramClient.Mechanism}.");
                    }

                    scram = new ScramClient(RequirePassword("SCRAM-SHA-256"));
                    var first = Encoding.UTF8.GetBytes(scram.ClientFirstMessage());
                    var initial = new MemoryStream();
                    WriteCString(initial, ScramClient.Mechanism);
                    WriteInt32(initial, first.Length);
                    initial.Write(first);
                    await SendPasswordAsync(initial.ToArray(), cancellationToken).ConfigureAwait(false);
                    break;
                case 11: // SASLContinue
                    if (scram is null)
                    {
                        throw new PgBouncerProtocolException($"The PgBouncer admin console at {_endpoint} sent SASLContinue before SASL.");
                    }

                    var final = scram.ClientFinalMessage(Encoding.UTF8.GetString(reader.Rest()));
                    await SendPasswordAsync(Encoding.UTF8.GetBytes(final), cancellationToken).ConfigureAwait(false);
                    break;
                case 12: // SASLFinal
                    if (scram is null || !scram.VerifyServerFinal(Encoding.UTF8.GetString(reader.Rest())))
                    {
                        throw new PgBouncerProtocolException($"The PgBouncer admin console at {_endpoint} sent a SCRAM server signature that does not match: it does not know the password.");
                    }

                    break;
                default:
                    throw new PgBouncerException($"The PgBouncer admin console at {_endpoint} asks for authentication method {code}, which this client does not speak (cleartext, md5 and SCRAM-SHA-256 are supported).");
            }
        }
    }

    private string RequirePassword(string method) => _endpoint.Password
        ?? throw new PgBouncerException($"The PgBouncer admin console at {_endpoint} asks for {method} authentication and the connection string has no password.");

    internal static string Md5Response(string user, string password, ReadOnlySpan<byte> salt)
    {
        // md5(md5(password || user) || salt), each as lowercase hex, prefixed "md5". MD5 is what the protocol's md5 method
        // is; the pooler chooses it (auth_type), and SCRAM-SHA-256 is used whenever the pooler offers it.
#pragma warning disable CA5351
        var inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + user)));
        var outerInput = new byte[inner.Length + salt.Length];
        Encoding.ASCII.GetBytes(inner, outerInput);
        salt.CopyTo(outerInput.AsSpan(inner.Length));
        return "md5" + Convert.ToHexStringLower(MD5.HashData(outerInput));
#pragma warning restore CA5351
    }

    private Task SendPasswordAsync(byte[] body, CancellationToken cancellationToken)
    {
        var message = new MemoryStream();
        WriteMessage(message, (byte)'p', body);
        return _stream.WriteAsync(message.GetBuffer().AsMemory(0, (int)message.Length), cancellationToken).AsTask();
    }

    private async Task<(PgBouncerResultSet Result, PgBouncerErrorException? Error)> ReadReplyAsync(string command, CancellationToken cancellationToken)
    {
        string[] columns = [];
        var rows = new List<string?[]>();
        string? tag = null;
        PgBouncerErrorException? error = null;
        while (true)
        {
            var (type, body) = await ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case (byte)'T':
                    columns = ParseRowDescription(body, command);
                    break;
                case (byte)'D':
                    rows.Add(ParseDataRow(body, columns.Length, command));
                    break;
                case (byte)'C':
                    tag = new BodyReader(body, "CommandComplete").CString();
                    break;
                case (byte)'E':
                    error ??= ErrorFrom(body, command);
                    break;
                case (byte)'N' or (byte)'S' or (byte)'I':
                    // Notices (SHOW HELP answers with one), parameter changes, empty query: nothing to keep.
                    break;
                case (byte)'Z':
                    return (new PgBouncerResultSet(command, columns, rows, tag), error);
                default:
                    throw Unexpected(type, command);
            }
        }
    }

    private static string[] ParseRowDescription(ReadOnlyMemory<byte> body, string command)
    {
        var reader = new BodyReader(body, "RowDescription of " + command);
        var count = reader.Int16();
        if (count < 0)
        {
            throw new PgBouncerProtocolException($"The RowDescription of {command} declares {count} columns.");
        }

        var columns = new string[count];
        for (var i = 0; i < count; i++)
        {
            columns[i] = reader.CString();
            reader.Skip(4 + 2 + 4 + 2 + 4 + 2); // table oid, attnum, type oid, typlen, typmod, format
        }

        return columns;
    }

    private static string?[] ParseDataRow(ReadOnlyMemory<byte> body, int expected, string command)
    {
        var reader = new BodyReader(body, "DataRow of " + command);
        var count = reader.Int16();
        if (count != expected)
        {
            throw new PgBouncerProtocolException($"A DataRow of {command} has {count} values; its RowDescription declared {expected}.");
        }

        var values = new string?[count];
        for (var i = 0; i < count; i++)
        {
            var length = reader.Int32();
            if (length == -1)
            {
                values[i] = null;
                continue;
            }

            if (length < 0)
            {
                throw new PgBouncerProtocolException($"A DataRow of {command} declares a value of length {length}.");
            }

            values[i] = Encoding.UTF8.GetString(reader.Bytes(length));
        }

        return values;
    }

    private static PgBouncerErrorException ErrorFrom(ReadOnlyMemory<byte> body, string context)
    {
        var reader = new BodyReader(body, "ErrorResponse");
        string sqlState = "?????", message = "(no message)";
        while (reader.Remaining > 0)
        {
            var field = reader.Byte();
            if (field == 0)
            {
                break;
            }

            var value = reader.CString();
            if (field == (byte)'C')
            {
                sqlState = value;
            }
            else if (field == (byte)'M')
            {
                message = value;
            }
        }

        return new PgBouncerErrorException(sqlState, message, context);
    }

    private PgBouncerProtocolException Unexpected(byte type, string during) =>
        new($"The PgBouncer admin console at {_endpoint} sent an unexpected message {Describe(type)} during {during}.");

    private static string Describe(byte type) => type is >= 32 and < 127 ? $"'{(char)type}'" : $"0x{type:X2}";

    private async Task<(byte Type, ReadOnlyMemory<byte> Body)> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var header = new byte[HeaderLength];
        await ReadExactlyAsync(header, "a message header", cancellationToken).ConfigureAwait(false);
        var type = header[0];
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length < 4 || length > MaxMessageLength)
        {
            throw new PgBouncerProtocolException(
                $"The PgBouncer admin console at {_endpoint} sent message {Describe(type)} with length {length} (allowed 4 to {MaxMessageLength}): not the PostgreSQL protocol.");
        }

        var bodyLength = length - 4;
        if (_buffer.Length < bodyLength)
        {
            _buffer = new byte[Math.Max(bodyLength, _buffer.Length * 2)];
        }

        var body = _buffer.AsMemory(0, bodyLength);
        await ReadExactlyAsync(body, "the body of message " + Describe(type), cancellationToken).ConfigureAwait(false);
        return (type, body);
    }

    private async Task ReadExactlyAsync(Memory<byte> destination, string what, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < destination.Length)
        {
            var n = await _stream.ReadAsync(destination[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                _broken = true;
                throw new PgBouncerProtocolException($"The PgBouncer admin console at {_endpoint} closed the connection in the middle of {what}.");
            }

            read += n;
        }
    }

    private static void WriteMessage(MemoryStream destination, byte type, ReadOnlySpan<byte> body)
    {
        destination.WriteByte(type);
        WriteInt32(destination, body.Length + 4);
        destination.Write(body);
    }

    private static void WriteInt32(MemoryStream destination, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        destination.Write(bytes);
    }

    private static void WriteCString(MemoryStream destination, string value)
    {
        destination.Write(Encoding.UTF8.GetBytes(value));
        destination.WriteByte(0);
    }

    /// <summary>Reads a message body with bounds checks: running past its end is a protocol error, never an index exception.</summary>
    private ref struct BodyReader
    {
        private readonly ReadOnlySpan<byte> _body;
        private readonly string _what;
        private int _position;

        public BodyReader(ReadOnlyMemory<byte> body, string what)
        {
            _body = body.Span;
            _what = what;
            _position = 0;
        }

        public readonly int Remaining => _body.Length - _position;

        public byte Byte() => Bytes(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Bytes(2));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Bytes(4));

        public void Skip(int count) => Bytes(count);

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || count > Remaining)
            {
                throw new PgBouncerProtocolException($"The {_what} message is cut short ({count} more bytes expected, {Remaining} left).");
            }

            var slice = _body.Slice(_position, count);
            _position += count;
            return slice;
        }

        public ReadOnlySpan<byte> Rest() => Bytes(Remaining);

        public string CString()
        {
            var end = _body[_position..].IndexOf((byte)0);
            if (end < 0)
            {
                throw new PgBouncerProtocolException($"The {_what} message has a string without its terminating zero byte.");
            }

            var value = Encoding.UTF8.GetString(_body.Slice(_position, end));
            _position += end + 1;
            return value;
        }
    }
}
