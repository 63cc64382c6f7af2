using System.Text.RegularExpressions;

namespace Reconciliation;

/// <summary>
/// Removes what looks like a credential from text that leaves the process (logs, reports, events, stored errors, webhook
/// bodies): connection-string and query-string secrets (<c>Password=</c>, <c>access_token=</c>, <c>client_secret=</c>, ...),
/// JSON and YAML secret fields (<c>"password": "..."</c>), <c>Authorization</c> headers (Basic, Bearer, any scheme),
/// URI user-info (<c>postgres://app:pw@db</c>), JWTs, PEM private keys and well-known token formats (GitHub, Slack, AWS
/// access key ids, Stripe keys, <c>whsec_</c> webhook secrets). Probe and healer exceptions pass through here before anyone
/// sees them; every adapter scrubs what it stores or emits with it, and custom healers should too.
/// </summary>
/// <remarks>
/// It errs on the side of removing too much: a value after a key that merely looks secret (<c>bypass=true</c>) is replaced
/// too. It cannot recognise a bare secret with no key and no known shape (a password alone in a sentence); such text must
/// never be put in a message in the first place.
/// </remarks>
public static partial class SecretScrubber
{
    private const string Mask = "***";

    /// <summary>Returns <paramref name="text"/> with secrets replaced by <c>***</c>; an empty string for <see langword="null"/>.</summary>
    public static string Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        // Whole-value shapes first (their contents could otherwise be half-matched by the key=value rule).
        text = PrivateKeyBlock().Replace(text, "-----BEGIN PRIVATE KEY-----" + Mask + "-----END PRIVATE KEY-----");
        text = AuthorizationHeader().Replace(text, "$1" + Mask);
        text = SchemeToken().Replace(text, "$1" + Mask);
        text = UriUserInfo().Replace(text, "$1" + Mask + "@");
        text = KeyValueSecret().Replace(text, static m => m.Groups[1].Value + MaskValue(m.Groups[2].Value));
        text = Jwt().Replace(text, Mask);
        return KnownTokenFormat().Replace(text, Mask);
    }

    /// <summary>Describes an exception for logs and reports without its stack or secrets: <c>TypeName: message</c>.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        return $"{inner.GetType().Name}: {Scrub(inner.Message)}";
    }

    // A quoted value keeps its quotes, so scrubbed JSON stays JSON.
    private static string MaskValue(string value) => value.Length >= 2 && value[0] is '"' or '\'' ? value[0] + Mask + value[0] : Mask;

    /// <summary>
    /// <c>key=value</c>, <c>key: value</c>, <c>"key": "value"</c> where the key (possibly prefixed: <c>client_</c>,
    /// <c>SSL </c>, <c>aws_</c>, <c>x-</c>) names a secret. Values end at <c>; , &amp;</c>, white space or a closing brace.
    /// </summary>
    [GeneratedRegex("""(?<![a-z0-9])((?:[a-z0-9]+[_.\-]|ssl |trust |client |shared access |account )*(?:password|passwd|pwd|passphrase|pass|secret|token|api[_\- ]?key|access[_\- ]?key|private[_\- ]?key|account[_\- ]?key|shared[_\- ]?access[_\- ]?key|credentials?|auth|sig|signature|session[_\-]?id|cookie)["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^;,&\s"'}\]]+)""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    /// <summary><c>Authorization: Basic ...</c>, <c>Proxy-Authorization: Bearer ...</c>: the whole credential after the scheme.</summary>
    [GeneratedRegex(@"((?:proxy-)?authorization[""']?\s*[:=]\s*[""']?(?:[a-z][a-z0-9_-]*\s+)?)[^\s,;""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AuthorizationHeader();

    /// <summary>A bearer or basic credential anywhere (<c>Bearer eyJ...</c>).</summary>
    [GeneratedRegex(@"(\b(?:bearer|basic)\s+)(?=[a-z._~+/=-]*[0-9+/=.])[a-z0-9._~+/=-]{6,}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SchemeToken();

    /// <summary>User-info of a URI: <c>scheme://user:password@host</c>.</summary>
    [GeneratedRegex(@"([a-z][a-z0-9+.-]*://)[^/@\s]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UriUserInfo();

    /// <summary>A JSON Web Token (three base64url parts, the first a JSON header).</summary>
    [GeneratedRegex(@"\beyJ[a-z0-9_-]{5,}\.[a-z0-9_-]{5,}\.[a-z0-9_-]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    /// <summary>A PEM private key block.</summary>
    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKeyBlock();

    /// <summary>
    /// Self-identifying token formats: GitHub (<c>ghp_</c>, <c>gho_</c>, <c>ghs_</c>, <c>github_pat_</c>), Slack (<c>xoxb-</c>),
    /// AWS access key ids (<c>AKIA</c>), Stripe secret keys (<c>sk_live_</c>), Standard Webhooks secrets (<c>whsec_</c>).
    /// </summary>
    [GeneratedRegex(@"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{8,})", RegexOptions.CultureInvariant)]
    private static partial Regex KnownTokenFormat();
}
