using System.Text.RegularExpressions;

namespace Reconciliation;

/// <summary>
/// Removes what looks like a credential from text that leaves the process (logs, reports, events): connection-string
/// passwords, URI user-info, bearer tokens. Probe and healer exceptions pass through here before anyone sees them.
/// </summary>
public static partial class SecretScrubber
{
    /// <summary>Returns <paramref name="text"/> with secrets replaced by <c>***</c>.</summary>
    public static string Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        text = KeyValueSecret().Replace(text, "$1=***");
        text = UriUserInfo().Replace(text, "$1***@");
        return BearerToken().Replace(text, "$1***");
    }

    /// <summary>Describes an exception for logs and reports without its stack or secrets: <c>TypeName: message</c>.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        return $"{inner.GetType().Name}: {Scrub(inner.Message)}";
    }

    [GeneratedRegex(@"\b(password|pwd|passwd|secret|access[_ ]?key|api[_ ]?key|token|auth)\s*=\s*(""[^""]*""|'[^']*'|[^;,\s]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValueSecret();

    [GeneratedRegex(@"([a-z][a-z0-9+.-]*://)[^/@\s]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UriUserInfo();

    [GeneratedRegex(@"(\bbearer\s+)[a-z0-9._~+/=-]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();
}
