namespace Reconciliation.Http;

/// <summary>
/// Where the operator-facing events go (<c>AddHttpEventWebhook</c>): a heal proposed for approval, a decision on it, a
/// silence about to end or ended, a flapping rule, a pause. Each event is POSTed as JSON, signed the Standard Webhooks
/// way like <c>http.webhook</c>. Unlike that healer it acts on nothing: it only tells.
/// </summary>
public sealed class HttpEventWebhookOptions
{
    /// <summary>The event kinds sent unless <see cref="Kinds"/> names others.</summary>
    public static readonly IReadOnlyList<ReconciliationEventKind> DefaultKinds =
    [
        ReconciliationEventKind.HealProposed, ReconciliationEventKind.ProposalDecided, ReconciliationEventKind.SilenceExpiring,
        ReconciliationEventKind.SilenceExpired, ReconciliationEventKind.RuleFlapping, ReconciliationEventKind.OperatorPause,
        ReconciliationEventKind.HealingPaused, ReconciliationEventKind.ViolationExhausted,
    ];

    /// <summary>The absolute http(s) URL to POST to (required).</summary>
    public Uri? Url { get; set; }

    /// <summary>The signing secret (<c>whsec_</c> + base64, or any text); unset for unsigned deliveries.</summary>
    public string? Secret { get; set; }

    /// <summary>More secrets, each signing too (key rotation: receivers accept any of them).</summary>
    public IList<string> Secrets { get; } = new List<string>();

    /// <summary>Extra request headers (an Authorization header, a routing key).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Which events to send; empty for <see cref="DefaultKinds"/>.</summary>
    public IList<ReconciliationEventKind> Kinds { get; } = new List<ReconciliationEventKind>();

    /// <summary>How long one delivery may take. Default 10 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries of one event, counting the first (a refused connection or a non-2xx answer is tried again after 1, 2, 4 … s). Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The named <see cref="HttpClient"/> used when an <see cref="IHttpClientFactory"/> is registered.</summary>
    public string HttpClientName { get; set; } = "Reconciliation.Http.EventWebhook";

    internal string ConfigurationPath { get; set; } = "HttpEventWebhook";
}
