using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reconciliation.Http.Internal;
using Reconciliation.Http.Telemetry;

namespace Reconciliation.Http.Webhooks;

/// <summary>
/// <c>http.webhook</c> (destructive unless declared otherwise): POSTs the violation as JSON to a configured URL (a CI job
/// that rolls a deploy back, a pager) with Standard Webhooks headers: <c>webhook-id</c> (derived from rule, resource, the
/// violation's start and the attempt, so a retry of the same attempt carries the same id and receivers de-duplicate),
/// <c>webhook-timestamp</c> and, when secrets are configured, <c>webhook-signature</c> over <c>id.timestamp.body</c>. A 2xx answer is <see cref="HealOutcome.Healed"/> (the engine then verifies
/// that the violation closes); any other status, a refused connection or a timeout is <see cref="HealOutcome.Failed"/>.
/// The engine's heal policy decides how often it is called; this class never retries by itself.
/// </summary>
internal sealed class HttpWebhookHealer : IHealer, IDisposable
{
    private readonly HttpWebhookOptions _options;
    private readonly Uri _url;
    private readonly string _target;
    private readonly HttpClientSource _clients;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string[] _secrets;

    public HttpWebhookHealer(HttpWebhookOptions options, IHttpClientFactory? clientFactory, TimeProvider timeProvider, ILogger<HttpWebhookHealer> logger)
    {
        _options = options;
        _url = options.Url!;
        _target = UriDisplay.Safe(_url);
        _clients = new HttpClientSource(clientFactory, options.HttpClientName);
        _time = timeProvider;
        _logger = logger;
        _secrets = [.. new[] { options.Secret }.Concat(options.Secrets).Where(static s => !string.IsNullOrEmpty(s)).Select(static s => s!)];
    }

    public string Name => HttpHealerNames.Webhook;

    public bool IsDestructive => _options.IsDestructive;

    public HealScope Scope => _options.Scope;

    public bool AppliesTo(string resource) =>
        _options.Resources.Count == 0 || _options.Resources.Contains(resource, StringComparer.Ordinal);

    public string DescribePlan(HealContext context) =>
        $"POST the violation of rule {context.Rule} on {context.Resource} (attempt {context.Attempt}) to {_target}";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = DeliveryId(context);
        var payload = new HttpWebhookPayload(id, context.Rule, context.Resource, context.Signal, context.Observed, context.Limit,
            context.Severity, context.OpenedAt, context.Attempt, Name, _time.GetUtcNow());
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, HttpWebhookJsonContext.Default.HttpWebhookPayload);

        using var request = SignedWebhookRequest.Create(_url, body, id, _options.Headers, _secrets, _time);
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _clients.Get().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                Log.WebhookDelivered(_logger, context.Rule, context.Resource, context.Attempt, _target, status);
                return HealOutcome.Healed($"{_target} answered {status}");
            }

            Log.WebhookRejected(_logger, context.Rule, context.Resource, context.Attempt, _target, status);
            return HealOutcome.Failed($"{_target} answered {status}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var reason = $"{_target} did not answer within {_options.Timeout}";
            Log.WebhookFailed(_logger, context.Rule, context.Resource, context.Attempt, _target, reason);
            return HealOutcome.Failed(reason);
        }
        catch (HttpRequestException e)
        {
            var reason = SecretScrubber.Describe(e);
            Log.WebhookFailed(_logger, context.Rule, context.Resource, context.Attempt, _target, reason);
            return HealOutcome.Failed($"{_target}: {reason}");
        }
    }

    public void Dispose() => _clients.Dispose();

    /// <summary>
    /// <c>msg_</c> + 32 hex of SHA-256 over rule, resource, the violation's start and the attempt: stable across a retry of
    /// the same attempt (in this process or another replica), different for the next attempt or the next violation.
    /// </summary>
    internal static string DeliveryId(HealContext context)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{context.Rule}\n{context.Resource}\n{context.OpenedAt.UtcTicks}\n{context.Attempt}");
        return "msg_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));
    }
}
