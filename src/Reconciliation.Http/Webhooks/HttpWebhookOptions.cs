
namespace Reconciliation.Http;

/// <summary>
/// Options of the <c>http.webhook</c> healer: where to POST the violation, how long to wait, and the secret that signs
/// the body. Validated at start (an absolute http/https <see cref="Url"/> is required).
/// </summary>
public sealed class HttpWebhookOptions
{
    /// <summary>The default timeout of one delivery, 10 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default signature header, <c>X-Reconciliation-Signature</c>.</summary>
    public const string DefaultSignatureHeader = "X-Reconciliation-Signature";

    /// <summary>The default named client asked of <see cref="IHttpClientFactory"/>, <c>Reconciliation.Http.Webhook</c>.</summary>
    public const string DefaultHttpClientName = "Reconciliation.Http.Webhook";

    /// <summary>Where to POST. Required: absolute, http or https. Only its scheme, host and path ever appear in logs.</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// The HMAC-SHA256 key; when set, every delivery carries <see cref="SignatureHeader"/>: <c>sha256=&lt;hex of HMAC(body)&gt;</c>.
    /// Read it from configuration (user secrets, environment, a vault); it is never logged. Default: no signature.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>
    /// Extra request headers (<c>Authorization: Bearer ...</c> for a CI API). Their values are treated like the secret: never
    /// logged. Default: none.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The header that carries the signature. Default <c>X-Reconciliation-Signature</c>.</summary>
    public string SignatureHeader { get; set; } = DefaultSignatureHeader;

    /// <summary>How long one delivery may take before it counts as failed. Default 10 seconds (the heal policy's Timeout also applies).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>The resources this webhook answers for. Empty (the default): every resource.</summary>
    public IList<string> Resources { get; } = new List<string>();

    /// <summary>
    /// Whether the receiver does something that interrupts work (rolls a deploy back, restarts a fleet): then the healer runs
    /// only when the host opted in with <c>AllowDestructive("http.webhook")</c>. Default false.
    /// </summary>
    public bool IsDestructive { get; set; }

    /// <summary>
    /// Whether the receiver acts on something every replica shares (a deploy). Then one replica at a time calls it, under the
    /// heal lease. Default <see cref="HealScope.SharedResource"/>.
    /// </summary>
    public HealScope Scope { get; set; } = HealScope.SharedResource;

    /// <summary>The named client to ask of <see cref="IHttpClientFactory"/> when the host registered it. Default <c>Reconciliation.Http.Webhook</c>.</summary>
    public string HttpClientName { get; set; } = DefaultHttpClientName;

    internal string ConfigurationPath { get; set; } = "HttpWebhook";
}
