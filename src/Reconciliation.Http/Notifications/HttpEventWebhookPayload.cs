using System.Text.Json.Serialization;

namespace Reconciliation.Http;

/// <summary>The JSON body of one event delivery (the <see cref="ReconciliationEvent"/>, with the replica that saw it).</summary>
internal sealed record HttpEventWebhookPayload(
    string Id, ReconciliationEventKind Kind, DateTimeOffset Timestamp, string? Rule, string? Signal, string? Resource, double? Observed,
    string? Healer, int? Attempt, string? Reason, string Replica);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(HttpEventWebhookPayload))]
internal sealed partial class HttpEventWebhookJsonContext : JsonSerializerContext;
