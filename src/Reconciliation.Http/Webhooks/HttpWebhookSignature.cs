using System.Security.Cryptography;
using System.Text;

namespace Reconciliation.Http;

/// <summary>
/// The signature of a webhook delivery: <c>sha256=</c> followed by the lowercase hex HMAC-SHA256 of the raw body under the
/// shared secret. Receivers verify with <see cref="Verify"/> (constant-time) before acting.
/// </summary>
public static class HttpWebhookSignature
{
    /// <summary>The prefix of the header value, <c>sha256=</c>.</summary>
    public const string Prefix = "sha256=";

    /// <summary>Computes the header value for <paramref name="body"/> under <paramref name="secret"/>.</summary>
    public static string Compute(string secret, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, hash);
        return Prefix + Convert.ToHexStringLower(hash);
    }

    /// <summary>True when <paramref name="header"/> is the signature of <paramref name="body"/> under <paramref name="secret"/> (compared in constant time).</summary>
    public static bool Verify(string secret, ReadOnlySpan<byte> body, string? header)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (header is null || !header.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Compute(secret, body));
        var actual = Encoding.ASCII.GetBytes(header.ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }
}
