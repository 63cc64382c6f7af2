using System.Net.Sockets;
using System.Text;
using Xunit;
using static Reconciliation.PgBouncer.Tests.Console.FakePeer;

namespace Reconciliation.PgBouncer.Tests.Console;

/// <summary>
/// Our console client against replies a real PgBouncer never sends. Each must end in one of our exception types with a
/// message that says what was wrong, within the configured timeout, never a hang, an index exception or a huge allocation.
/// </summary>
public sealed class ConsoleProtocolTests
{
    // Generous where the peer answers (a loaded CI machine must not turn a protocol error into a timeout); short where the
    // test is about a peer that stays silent and the whole timeout has to pass.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Silent = TimeSpan.FromMilliseconds(300);

    private static Task<PgBouncerConsoleConnection> OpenAsync(FakePeer peer, string? connectionString = null, TimeSpan? timeout = null) =>
        PgBouncerConsoleConnection.OpenAsync(PgBouncerEndpoint.Parse(connectionString ?? peer.ConnectionString, "test"), timeout ?? Timeout, TestContext.Current.CancellationToken);

    /// <summary>A peer that accepts the login without a password and then runs <paramref name="afterLogin"/>.</summary>
    private static FakePeer LoggedIn(Func<NetworkStream, CancellationToken, Task> afterLogin) => new(async (stream, ct) =>
    {
        await ReadStartupAsync(stream, ct);
        await stream.WriteAsync(AuthOk.Concat(ReadyForQuery).ToArray(), ct);
        await afterLogin(stream, ct);
    });

    private static async Task<PgBouncerConsoleConnection> LoggedInConnection(FakePeer peer) => await OpenAsync(peer);

    [Fact]
    public async Task A_message_cut_short_by_a_closed_connection_is_a_protocol_error()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(0)).AsMemory(0, 7), ct); // header says 8 bytes, 7 arrive
            stream.Close();
        });

        var error = await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer));
        Assert.Contains("closed the connection in the middle of", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_cut_short_by_a_silent_peer_times_out_instead_of_hanging()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(0)).AsMemory(0, 6), ct);
        });

        var error = await Assert.ThrowsAsync<PgBouncerTimeoutException>(() => OpenAsync(peer, timeout: Silent));
        Assert.Contains("did not complete the login", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_that_never_answers_the_startup_times_out()
    {
        await using var peer = new FakePeer((stream, ct) => ReadStartupAsync(stream, ct));
        await Assert.ThrowsAsync<PgBouncerTimeoutException>(() => OpenAsync(peer, timeout: Silent));
    }

    [Theory]
    [InlineData(-5)]
    [InlineData(2)]
    [InlineData(PgBouncerConsoleConnection.MaxMessageLength + 1)]
    [InlineData(int.MaxValue)]
    public async Task A_length_out_of_bounds_is_refused_before_reading_or_allocating(int length)
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(new[] { (byte)'R' }.Concat(Int32(length)).ToArray(), ct);
        });

        var error = await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer));
        Assert.Contains("not the PostgreSQL protocol", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Something_that_is_not_the_protocol_at_all_is_a_protocol_error()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray(), ct);
        });

        await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer));
    }

    [Fact]
    public async Task An_error_response_at_login_carries_sqlstate_and_message_but_not_the_password()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('E', "SFATAL\0"u8.ToArray(), "C28P01\0"u8.ToArray(), "Mpassword authentication failed\0"u8.ToArray(), [0]), ct);
        });

        var error = await Assert.ThrowsAsync<PgBouncerErrorException>(() => OpenAsync(peer));
        Assert.Equal("28P01", error.SqlState);
        Assert.Equal("password authentication failed", error.ServerMessage);
        Assert.DoesNotContain("secret-pw", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_authentication_method_we_do_not_speak_is_named()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(7)), ct); // GSSAPI
        });

        var error = await Assert.ThrowsAsync<PgBouncerException>(() => OpenAsync(peer));
        Assert.Contains("authentication method 7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scram_server_signature_that_does_not_match_fails_the_login()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(10), CString("SCRAM-SHA-256"), [0]), ct);
            var (_, initial) = await ReadMessageAsync(stream, ct);
            var text = Encoding.UTF8.GetString(initial);
            var clientNonce = text[(text.IndexOf("r=", StringComparison.Ordinal) + 2)..];
            var serverFirst = $"r={clientNonce}server-part,s={Convert.ToBase64String(new byte[16])},i=4096";
            await stream.WriteAsync(Message('R', Int32(11), Encoding.UTF8.GetBytes(serverFirst)), ct);
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(12), Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(new byte[32]))), ct);
            await stream.WriteAsync(AuthOk.Concat(ReadyForQuery).ToArray(), ct);
        });

        var error = await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer));
        Assert.Contains("does not know the password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scram_server_first_message_with_a_foreign_nonce_is_refused()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(10), CString("SCRAM-SHA-256"), [0]), ct);
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(Message('R', Int32(11), "r=not-our-nonce,s=AAAA,i=4096"u8.ToArray()), ct);
        });

        await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer));
    }

    [Fact]
    public async Task The_commands_go_out_in_one_write_before_any_reply_and_rows_come_back_as_text()
    {
        var seen = new List<string>();
        await using var peer = LoggedIn(async (stream, ct) =>
        {
            // The peer reads BOTH queries before it answers anything: the client must not wait for a reply in between.
            for (var i = 0; i < 2; i++)
            {
                var (type, body) = await ReadMessageAsync(stream, ct);
                seen.Add(type + Encoding.UTF8.GetString(body).TrimEnd('\0'));
            }

            await stream.WriteAsync(
                RowDescription("database", "cl_waiting").Concat(DataRow("orders", "3")).Concat(DataRow("billing", null))
                    .Concat(Message('C', CString("SHOW"))).Concat(ReadyForQuery)
                    .Concat(Message('N', "SNOTICE\0"u8.ToArray(), [0])).Concat(Message('C', CString("RELOAD"))).Concat(ReadyForQuery).ToArray(), ct);
        });

        await using var connection = await LoggedInConnection(peer);
        var results = await connection.QueryAsync(["SHOW POOLS", "RELOAD"], TestContext.Current.CancellationToken);

        Assert.Equal(["QSHOW POOLS", "QRELOAD"], seen);
        Assert.Equal(["database", "cl_waiting"], results[0].Columns);
        Assert.Equal("3", results[0].Text(results[0].Rows[0], "cl_waiting"));
        Assert.Null(results[0].Text(results[0].Rows[1], "cl_waiting"));
        Assert.Equal("RELOAD", results[1].CommandTag);
        Assert.Empty(results[1].Rows);
    }

    [Fact]
    public async Task An_error_for_one_command_is_thrown_after_every_reply_was_read_and_the_connection_stays_usable()
    {
        await using var peer = LoggedIn(async (stream, ct) =>
        {
            await ReadMessageAsync(stream, ct);
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(
                Message('E', "SERROR\0"u8.ToArray(), "C08P01\0"u8.ToArray(), "Minvalid command\0"u8.ToArray(), [0]).Concat(ReadyForQuery)
                    .Concat(Message('C', CString("SHOW"))).Concat(ReadyForQuery).ToArray(), ct);
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(Message('C', CString("SHOW")).Concat(ReadyForQuery).ToArray(), ct);
        });

        await using var connection = await LoggedInConnection(peer);
        var error = await Assert.ThrowsAsync<PgBouncerErrorException>(() => connection.QueryAsync(["BOGUS", "SHOW VERSION"], TestContext.Current.CancellationToken));
        Assert.Equal("08P01", error.SqlState);
        Assert.StartsWith("BOGUS", error.Message, StringComparison.Ordinal);
        Assert.True(connection.IsUsable);
        Assert.Equal("SHOW", (await connection.QueryAsync(["SHOW VERSION"], TestContext.Current.CancellationToken))[0].CommandTag);
    }

    public static TheoryData<string, byte[]> MalformedReplies => new()
    {
        { "a value longer than its row", RowDescription("a").Concat(Message('D', Int16(1), Int32(50), "short"u8.ToArray())).ToArray() },
        { "a row with more values than columns", RowDescription("a").Concat(DataRow("1", "2")).ToArray() },
        { "a negative value length", RowDescription("a").Concat(Message('D', Int16(1), Int32(-7))).ToArray() },
        { "a column name without its zero byte", Message('T', Int16(1), "abc"u8.ToArray()) },
        { "a row description cut short", Message('T', Int16(2), CString("a")) },
        { "a message type the protocol does not have here", Message('W', Int32(0)) },
    };

    [Theory]
    [MemberData(nameof(MalformedReplies))]
    public async Task A_malformed_reply_is_a_protocol_error_and_the_connection_is_not_reused(string what, byte[] reply)
    {
        await using var peer = LoggedIn(async (stream, ct) =>
        {
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(reply, ct);
        });

        await using var connection = await LoggedInConnection(peer);
        await Assert.ThrowsAsync<PgBouncerProtocolException>(() => connection.QueryAsync(["SHOW POOLS"], TestContext.Current.CancellationToken));
        Assert.False(connection.IsUsable, what);
    }

    [Fact]
    public async Task A_reply_that_stops_midway_times_out_and_the_connection_is_not_reused()
    {
        await using var peer = LoggedIn(async (stream, ct) =>
        {
            await ReadMessageAsync(stream, ct);
            await stream.WriteAsync(RowDescription("a").Concat(DataRow("1")).ToArray(), ct); // no CommandComplete, no ReadyForQuery
        });

        await using var connection = await OpenAsync(peer, timeout: TimeSpan.FromSeconds(2));
        var error = await Assert.ThrowsAsync<PgBouncerTimeoutException>(() => connection.QueryAsync(["SHOW POOLS"], TestContext.Current.CancellationToken));
        Assert.Contains("SHOW POOLS", error.Message, StringComparison.Ordinal);
        Assert.False(connection.IsUsable);
    }

    [Fact]
    public async Task Tls_required_but_refused_by_the_peer_fails_without_sending_the_password()
    {
        var sentStartup = false;
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct); // the SSLRequest
            await stream.WriteAsync("N"u8.ToArray(), ct);
            var buffer = new byte[1];
            sentStartup = await stream.ReadAsync(buffer, ct) > 0;
        });

        var error = await Assert.ThrowsAsync<PgBouncerException>(() => OpenAsync(peer, peer.ConnectionString.Replace("SSL Mode=Disable", "SSL Mode=Require", StringComparison.Ordinal)));
        Assert.Contains("does not offer TLS", error.Message, StringComparison.Ordinal);
        Assert.False(sentStartup);
    }

    [Fact]
    public async Task An_answer_to_the_tls_request_that_is_neither_yes_nor_no_is_a_protocol_error()
    {
        await using var peer = new FakePeer(async (stream, ct) =>
        {
            await ReadStartupAsync(stream, ct);
            await stream.WriteAsync("E"u8.ToArray(), ct);
        });

        await Assert.ThrowsAsync<PgBouncerProtocolException>(() => OpenAsync(peer, peer.ConnectionString.Replace("SSL Mode=Disable", "SSL Mode=Prefer", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Nothing_listening_is_a_connection_error_naming_host_and_port_only()
    {
        var port = Reconciliation.TestServers.FreePort.Next();
        var endpoint = PgBouncerEndpoint.Parse($"Host=127.0.0.1;Port={port};Username=admin;Password=secret-pw", "test");
        var error = await Assert.ThrowsAsync<PgBouncerException>(() => PgBouncerConsoleConnection.OpenAsync(endpoint, Timeout, TestContext.Current.CancellationToken));
        Assert.IsNotType<PgBouncerTimeoutException>(error);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", error.ToString(), StringComparison.Ordinal);
    }

#pragma warning disable CA5351 // the protocol's md5 method is what is under test
    [Fact]
    public void Md5_response_matches_the_documented_construction()
    {
        // md5(md5("secret" + "user") + salt): concat('md5', md5(concat(md5('secretuser'), E'\\x01020304'))) in PostgreSQL.
        var response = PgBouncerConsoleConnection.Md5Response("user", "secret", [1, 2, 3, 4]);
        var inner = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("secretuser"u8));
        var expected = "md5" + Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData([.. Encoding.ASCII.GetBytes(inner), 1, 2, 3, 4]));
        Assert.Equal(expected, response);
        Assert.Equal(35, response.Length);
    }
#pragma warning restore CA5351
}
