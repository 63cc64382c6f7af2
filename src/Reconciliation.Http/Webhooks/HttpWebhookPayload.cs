using System.Text.Json.Serialization;

namespace Reconciliation.Http.Webhooks;

/// <summary>The JSON body of a delivery (documented in docs/http.md; field names are the contract).</summary>
internal sealed record HttpWebhookPayload(
    string Id,
    string Rule,
    string Resource,
    string Signal,
    double Observed,
    double Limit,
    [property: JsonConverter(typeof(JsonStringEnumConverter<RuleSeverity>))] RuleSeverity Severity,
    DateTimeOffset Since,
    int Attempt,
    string Healer,
    DateTimeOffset SentAt);

/// <summary>Source-generated serialization: no reflection, camelCase names.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(HttpWebhookPayload))]
internal sealed partial class HttpWebhookJsonContext : JsonSerializerContext;
