using Microsoft.Extensions.Logging;

namespace Reconciliation.Http.Telemetry;

/// <summary>The HTTP package's log messages (event ids 400–499). Never a URL's query or user info, never a secret.</summary>
internal static partial class Log
{
    [LoggerMessage(400, LogLevel.Information, "Listening to request durations of {Source}: groups {Groups}, window {Window}, at least {MinimumRequests} requests per reading", EventName = "LatencyListenerStarted")]
    public static partial void LatencyListenerStarted(this ILogger logger, string source, string groups, TimeSpan window, int minimumRequests);

    [LoggerMessage(401, LogLevel.Information, "Webhook for rule {Rule} on {Resource} (attempt {Attempt}) delivered to {Target}: {StatusCode}", EventName = "WebhookDelivered")]
    public static partial void WebhookDelivered(this ILogger logger, string rule, string resource, int attempt, string target, int statusCode);

    [LoggerMessage(402, LogLevel.Warning, "Webhook for rule {Rule} on {Resource} (attempt {Attempt}) rejected by {Target}: {StatusCode}", EventName = "WebhookRejected")]
    public static partial void WebhookRejected(this ILogger logger, string rule, string resource, int attempt, string target, int statusCode);

    [LoggerMessage(403, LogLevel.Warning, "Webhook for rule {Rule} on {Resource} (attempt {Attempt}) to {Target} failed: {Reason}", EventName = "WebhookFailed")]
    public static partial void WebhookFailed(this ILogger logger, string rule, string resource, int attempt, string target, string reason);

    [LoggerMessage(404, LogLevel.Debug, "Endpoint {Resource} answered {StatusCode}, not an expected status", EventName = "EndpointUnexpectedStatus")]
    public static partial void EndpointUnexpectedStatus(this ILogger logger, string resource, int statusCode);

    [LoggerMessage(420, LogLevel.Warning, "Event {Kind} was not delivered to {Target} after {Attempts} attempts: {Reason}", EventName = "EventWebhookFailed")]
    public static partial void EventWebhookFailed(this ILogger logger, string kind, string target, int attempts, string reason);
}
