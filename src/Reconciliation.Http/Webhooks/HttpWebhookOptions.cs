
namespace Reconciliation.Http;

/// <summary>
/// Options of the <c>http.webhook</c> healer: where to POST the violation, how long to wait, and the secret that signs
/// the body. Validated at start (an absolute http/https <see cref="Url"/> is required).
/// </summary>
public sealed class HttpWebhookOptions
{
    /// <summary>The default timeout of one delivery, 10 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The default named client asked of <see cref="IHttpClientFactory"/>, <c>Reconciliation.Http.Webhook</c>.</summary>
    public const string DefaultHttpClientName = "Reconciliation.Http.Webhook";

    /// <summary>Where to POST. Required: absolute, http or https. Only its scheme, host and path ever appear in logs.</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// The signing secret, Standard Webhooks style (<c>whsec_&lt;base64 key&gt;</c>; any other string is used as its UTF-8
    /// bytes). When set (here or in <see cref="Secrets"/>), every delivery carries <c>webhook-id</c>, <c>webhook-timestamp</c>
    /// and <c>webhook-signature</c> (<c>v1,&lt;base64 HMAC-SHA256 of id.timestamp.body&gt;</c>); receivers verify with
    /// <see cref="HttpWebhookSignature.Verify"/>. Read it from configuration (user secrets, environment, a vault); it is
    /// never logged. Default: no signature (the id and timestamp headers are sent anyway).
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>
    /// More signing secrets, for key rotation: every secret (<see cref="Secret"/> first) signs each delivery, and the
    /// signatures go space-separated in <c>webhook-signature</c>, so receivers holding the old or the new key both verify.
    /// Default: none.
    /// </summary>
    public IList<string> Secrets { get; } = new List<string>();

    /// <summary>
    /// Extra request headers (<c>Authorization: Bearer ...</c> for a CI API). Their values are treated like the secret: never
    /// logged. Default: none.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long one delivery may take before it counts as failed. Default 10 seconds (the heal policy's Timeout also applies).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>The resources this webhook answers for. Empty (the default): every resource.</summary>
    public IList<string> Resources { get; } = new List<string>();

    /// <summary>
    /// Whether the receiver does something that interrupts work (rolls a deploy back, restarts a fleet): then the healer runs
    /// only when the host opted in with <c>AllowDestructive("http.webhook")</c>. Default TRUE: a webhook can do anything, so
    /// it needs the opt-in unless the host declares it harmless (a pager, a chat message) with <c>IsDestructive = false</c>.
    /// </summary>
    public bool IsDestructive { get; set; } = true;

    /// <summary>
    /// Whether the receiver acts on something every replica shares (a deploy). Then one replica at a time calls it, under the
    /// heal lease. Default <see cref="HealScope.SharedResource"/>.
    /// </summary>
    public HealScope Scope { get; set; } = HealScope.SharedResource;

    /// <summary>The named client to ask of <see cref="IHttpClientFactory"/> when the host registered it. Default <c>Reconciliation.Http.Webhook</c>.</summary>
    public string HttpClientName { get; set; } = DefaultHttpClientName;

    internal string ConfigurationPath { get; set; } = "HttpWebhook";
}
