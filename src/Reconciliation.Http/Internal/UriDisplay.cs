namespace Reconciliation.Http.Internal;

/// <summary>How a URL appears in logs, plans and reasons: scheme, host, port and path only (a query or user info may hold a token).</summary>
internal static class UriDisplay
{
    public static string Safe(Uri uri) => uri.IsAbsoluteUri ? $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}" : "(relative URL)";
}
