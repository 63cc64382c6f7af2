namespace Reconciliation.Http.Internal;

/// <summary>The URL check shared by endpoint and webhook options: absolute, http or https.</summary>
internal static class HttpUrlValidation
{
    public static string? Check(string key, Uri? uri)
    {
        if (uri is null)
        {
            return $"{key} is required (an absolute http:// or https:// URL).";
        }

        if (!uri.IsAbsoluteUri)
        {
            return $"{key} must be an absolute http:// or https:// URL.";
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return $"{key} must be an http:// or https:// URL (the scheme was '{uri.Scheme}').";
        }

        return null;
    }
}
