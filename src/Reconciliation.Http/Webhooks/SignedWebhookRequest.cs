using System.Globalization;
using System.Net.Http.Headers;

namespace Reconciliation.Http.Webhooks;

/// <summary>
/// The one way this package builds a webhook request: a JSON POST with the configured headers and the Standard Webhooks
/// headers (<c>webhook-id</c>, <c>webhook-timestamp</c>, and <c>webhook-signature</c> when secrets are set).
/// </summary>
internal static class SignedWebhookRequest
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    public static HttpRequestMessage Create(Uri url, byte[] body, string id, IDictionary<string, string> headers, string[] secrets, TimeProvider time)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Json;
        foreach (var (header, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        request.Headers.TryAddWithoutValidation(HttpWebhookSignature.IdHeader, id);
        request.Headers.TryAddWithoutValidation(HttpWebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        if (secrets.Length > 0)
        {
            request.Headers.TryAddWithoutValidation(HttpWebhookSignature.SignatureHeader, HttpWebhookSignature.Sign(secrets, id, timestamp, body));
        }

        return request;
    }
}
