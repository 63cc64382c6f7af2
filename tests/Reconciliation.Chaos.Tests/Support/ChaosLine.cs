using System.Globalization;
using System.Text.Json;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>One line a process printed: a JSON object with its type (<c>t</c>), or raw text (<c>text</c>, <c>stderr</c>).</summary>
internal sealed class ChaosLine
{
    private readonly JsonElement _json;

    private ChaosLine(string source, string raw, string type, JsonElement json, DateTimeOffset received)
    {
        Source = source;
        Raw = raw;
        Type = type;
        _json = json;
        Received = received;
    }

    /// <summary>The process that printed it (its name in the storm).</summary>
    public string Source { get; }

    public string Raw { get; }

    public string Type { get; }

    public DateTimeOffset Received { get; }

    /// <summary>When the process printed it (its <c>at</c>), else when it was received.</summary>
    public DateTimeOffset At => String("at") is { } at ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) : Received;

    public static ChaosLine Parse(string source, string raw, bool stderr)
    {
        var received = TimeProvider.System.GetUtcNow();
        if (!stderr && raw.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(raw);
                var root = document.RootElement.Clone();
                var type = root.TryGetProperty("t", out var t) ? t.GetString() ?? "?" : "?";
                return new ChaosLine(source, raw, type, root, received);
            }
            catch (JsonException)
            {
            }
        }

        return new ChaosLine(source, raw, stderr ? "stderr" : "text", default, received);
    }

    public bool Is(string type) => string.Equals(Type, type, StringComparison.Ordinal);

    public string? String(string name) =>
        _json.ValueKind == JsonValueKind.Object && _json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public double? Number(string name) =>
        _json.ValueKind == JsonValueKind.Object && _json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    /// <summary>An engine event of <paramref name="kind"/> (optionally on <paramref name="resource"/> / of <paramref name="rule"/>).</summary>
    public bool IsEvent(string kind, string? resource = null, string? rule = null) =>
        Is("event") && String("kind") == kind && (resource is null || String("resource") == resource) && (rule is null || String("rule") == rule);

    /// <summary>A library log record with this event name.</summary>
    public bool IsLog(string eventName) => Is("log") && String("event") == eventName;

    public override string ToString() => $"[{Source}] {Raw}";
}
