using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Reconciliation.Http;

/// <summary>
/// Webhook signatures the Standard Webhooks way (standardwebhooks.com), shared by the sender (<c>http.webhook</c>) and
/// receivers: headers <c>webhook-id</c>, <c>webhook-timestamp</c> (Unix seconds) and <c>webhook-signature</c>, which holds
/// one space-separated <c>v1,&lt;base64 HMAC-SHA256&gt;</c> per secret over <c>id.timestamp.body</c>. Secrets are
/// <c>whsec_&lt;base64 key&gt;</c>; any other string is used as its UTF-8 bytes. Several secrets sign at once during a
/// rotation, and a receiver accepts a delivery when any signature matches any of its secrets.
/// </summary>
public static class HttpWebhookSignature
{
    /// <summary>The delivery id header, <c>webhook-id</c>: the same on a retry of the same attempt, so receivers de-duplicate.</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>The timestamp header, <c>webhook-timestamp</c>: Unix seconds when the delivery was sent.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>The signature header, <c>webhook-signature</c>.</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The prefix of a Standard Webhooks secret, <c>whsec_</c>.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>The version prefix of one signature, <c>v1,</c>.</summary>
    public const string VersionPrefix = "v1,";

    /// <summary>How far a delivery's timestamp may be from the receiver's clock by default: 5 minutes (either way).</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The <c>webhook-signature</c> value for <paramref name="body"/>: one <c>v1,</c> signature per secret, space-separated.</summary>
    public static string Sign(IEnumerable<string> secrets, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentException.ThrowIfNullOrEmpty(id);
        var signatures = new StringBuilder();
        foreach (var secret in secrets)
        {
            if (signatures.Length > 0)
            {
                signatures.Append(' ');
            }

            signatures.Append(VersionPrefix).Append(Convert.ToBase64String(Hash(Key(secret), id, timestamp, body)));
        }

        return signatures.Length == 0 ? throw new ArgumentException("At least one secret is required.", nameof(secrets)) : signatures.ToString();
    }

    /// <summary>
    /// Verifies a delivery as a receiver: all three headers present, <paramref name="timestamp"/> within
    /// <paramref name="tolerance"/> (default <see cref="DefaultTolerance"/>) of <paramref name="timeProvider"/>'s clock, and
    /// one <c>v1</c> signature of <c>id.timestamp.body</c> under one of <paramref name="secrets"/>, compared in constant time.
    /// Check the id against the ids already processed to drop retries of a delivery already acted on.
    /// </summary>
    public static HttpWebhookVerification Verify(IEnumerable<string> secrets, string? id, string? timestamp, string? signature,
        ReadOnlySpan<byte> body, TimeProvider timeProvider, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
        {
            return HttpWebhookVerification.MissingHeader;
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return HttpWebhookVerification.InvalidTimestamp;
        }

        var now = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)(tolerance ?? DefaultTolerance).TotalSeconds)
        {
            return HttpWebhookVerification.TimestampOutOfTolerance;
        }

        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        foreach (var secret in secrets)
        {
            var expected = Hash(Key(secret), id, seconds, body);
            foreach (var part in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.StartsWith(VersionPrefix, StringComparison.Ordinal)
                    && Convert.TryFromBase64String(part[VersionPrefix.Length..], actual, out var written)
                    && written == expected.Length
                    && CryptographicOperations.FixedTimeEquals(expected, actual[..written]))
                {
                    return HttpWebhookVerification.Valid;
                }
            }
        }

        return HttpWebhookVerification.NoMatchingSignature;
    }

    /// <summary>The HMAC key of a secret: the base64-decoded part after <c>whsec_</c>, or the UTF-8 bytes of any other string.</summary>
    internal static byte[] Key(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            var encoded = secret[SecretPrefix.Length..];
            var buffer = new byte[encoded.Length];
            if (Convert.TryFromBase64String(encoded, buffer, out var written) && written > 0)
            {
                return buffer[..written];
            }
        }

        return Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>True when <paramref name="secret"/> starts with <c>whsec_</c> but what follows is not base64.</summary>
    internal static bool IsMalformed(string secret) =>
        secret.StartsWith(SecretPrefix, StringComparison.Ordinal)
        && !Convert.TryFromBase64String(secret[SecretPrefix.Length..], new byte[secret.Length], out _);

    private static byte[] Hash(byte[] key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{id}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return HMACSHA256.HashData(key, content);
    }
}

/// <summary>The result of <see cref="HttpWebhookSignature.Verify"/>.</summary>
public enum HttpWebhookVerification
{
    /// <summary>Authentic and fresh: act on it (once per <c>webhook-id</c>).</summary>
    Valid,

    /// <summary>A <c>webhook-id</c>, <c>webhook-timestamp</c> or <c>webhook-signature</c> header is missing.</summary>
    MissingHeader,

    /// <summary><c>webhook-timestamp</c> is not an integer number of seconds.</summary>
    InvalidTimestamp,

    /// <summary>The timestamp is further from the receiver's clock than the tolerance (a replay, or a clock far off).</summary>
    TimestampOutOfTolerance,

    /// <summary>No signature matches any of the receiver's secrets.</summary>
    NoMatchingSignature,
}
