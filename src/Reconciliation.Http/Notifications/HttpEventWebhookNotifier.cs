using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reconciliation.Http.Internal;
using Reconciliation.Http.Telemetry;
using Reconciliation.Http.Webhooks;

namespace Reconciliation.Http;

/// <summary>
/// Sends the chosen <see cref="ReconciliationEvent"/>s to a URL, one POST each, in order, off the loop: it reads its own
/// bounded subscription, so a slow or dead receiver costs dropped notifications (logged), never a delayed tick.
/// The <c>webhook-id</c> is derived from the event, so a retry of one event carries the same id.
/// </summary>
internal sealed class HttpEventWebhookNotifier : BackgroundService
{
    private readonly ReconciliationEvents _events;
    private readonly HttpEventWebhookOptions _options;
    private readonly IOptionsMonitor<ReconciliationOptions> _reconciliation;
    private readonly HttpClientSource _clients;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string[] _secrets;
    private readonly HashSet<ReconciliationEventKind> _kinds;
    private readonly string _target;

    public HttpEventWebhookNotifier(ReconciliationEvents events, IOptions<HttpEventWebhookOptions> options, IOptionsMonitor<ReconciliationOptions> reconciliation,
        IEnumerable<IHttpClientFactory> clientFactory, TimeProvider time, ILogger<HttpEventWebhookNotifier> logger)
    {
        _events = events;
        _options = options.Value;
        _reconciliation = reconciliation;
        _clients = new HttpClientSource(clientFactory.FirstOrDefault(), _options.HttpClientName);
        _time = time;
        _logger = logger;
        _secrets = [.. new[] { _options.Secret }.Concat(_options.Secrets).Where(static s => !string.IsNullOrEmpty(s)).Select(static s => s!)];
        _kinds = [.. _options.Kinds.Count > 0 ? (IEnumerable<ReconciliationEventKind>)_options.Kinds : HttpEventWebhookOptions.DefaultKinds];
        _target = UriDisplay.Safe(_options.Url!);
    }

    private ReconciliationEvents.Subscription? _subscription;

    public override void Dispose()
    {
        _subscription?.Dispose();
        _clients.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Subscribes before the host goes on: ExecuteAsync runs on the thread pool (since .NET 10 none of it runs inside
    /// StartAsync), and an event published in between — an operator's first pause — would be missed.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription ??= _events.Subscribe();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscription = _subscription ??= _events.Subscribe();
        try
        {
            await foreach (var e in subscription.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (_kinds.Contains(e.Kind))
                {
                    await DeliverAsync(e, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task DeliverAsync(ReconciliationEvent e, CancellationToken stoppingToken)
    {
        var id = DeliveryId(e);
        var payload = new HttpEventWebhookPayload(id, e.Kind, e.Timestamp, e.Rule, e.Signal, e.Resource, e.Observed, e.Healer, e.Attempt,
            e.Reason is null ? null : SecretScrubber.Scrub(e.Reason), _reconciliation.CurrentValue.ReplicaId);
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, HttpEventWebhookJsonContext.Default.HttpEventWebhookPayload);
        string? failure = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            failure = await SendAsync(id, body, stoppingToken).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            if (attempt < _options.MaxAttempts)
            {
                await Task.Delay(TimeSpan.FromSeconds(1 << (attempt - 1)), _time, stoppingToken).ConfigureAwait(false);
            }
        }

        Log.EventWebhookFailed(_logger, e.Kind.ToString(), _target, _options.MaxAttempts, failure!);
    }

    /// <summary>One delivery; null when the receiver answered 2xx, otherwise why not.</summary>
    private async Task<string?> SendAsync(string id, byte[] body, CancellationToken stoppingToken)
    {
        using var request = SignedWebhookRequest.Create(_options.Url!, body, id, _options.Headers, _secrets, _time);
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            using var response = await _clients.Get().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"{_target} answered {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            return $"{_target} did not answer within {_options.Timeout}";
        }
        catch (HttpRequestException ex)
        {
            return $"{_target}: {SecretScrubber.Describe(ex)}";
        }
    }

    /// <summary><c>evt_</c> + 32 hex of SHA-256 over the event's kind, time, rule, resource, healer and reason.</summary>
    internal static string DeliveryId(ReconciliationEvent e)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{e.Kind}\n{e.Timestamp.UtcTicks}\n{e.Rule}\n{e.Resource}\n{e.Healer}\n{e.Reason}");
        return "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));
    }
}
