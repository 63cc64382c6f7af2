using System.Globalization;
using System.Text.Json;

namespace Reconciliation.Fleet.Tests.Support;

/// <summary>One line a replica host printed: a JSON object with its type (<c>t</c>), or raw text (<c>text</c>, <c>stderr</c>).</summary>
internal sealed class HostLine
{
    private readonly JsonElement _json;

    private HostLine(string raw, string type, JsonElement json, DateTimeOffset received)
    {
        Raw = raw;
        Type = type;
        _json = json;
        Received = received;
    }

    public string Raw { get; }

    public string Type { get; }

    /// <summary>When the test received it (system clock).</summary>
    public DateTimeOffset Received { get; }

    /// <summary>When the host printed it (its <c>at</c>, system clock of the same machine).</summary>
    public DateTimeOffset At => Time("at") ?? Received;

    public static HostLine Parse(string raw, bool stderr)
    {
        var received = TimeProvider.System.GetUtcNow();
        if (!stderr && raw.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(raw);
                var root = document.RootElement.Clone();
                var type = root.TryGetProperty("t", out var t) ? t.GetString() ?? "?" : "?";
                return new HostLine(raw, type, root, received);
            }
            catch (JsonException)
            {
            }
        }

        return new HostLine(raw, stderr ? "stderr" : "text", default, received);
    }

    public bool Is(string type) => string.Equals(Type, type, StringComparison.Ordinal);

    public string? String(string name) =>
        _json.ValueKind == JsonValueKind.Object && _json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public long? Number(string name) =>
        _json.ValueKind == JsonValueKind.Object && _json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    public bool? Bool(string name) =>
        _json.ValueKind == JsonValueKind.Object && _json.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean() : null;

    public DateTimeOffset? Time(string name) =>
        String(name) is { } text ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) : null;

    /// <summary>The violations of a <c>tick</c> line.</summary>
    public IReadOnlyList<ViolationLine> Violations()
    {
        if (_json.ValueKind != JsonValueKind.Object || !_json.TryGetProperty("violations", out var array))
        {
            return [];
        }

        return array.EnumerateArray().Select(v => new ViolationLine(
            v.GetProperty("rule").GetString()!,
            v.GetProperty("resource").GetString()!,
            v.GetProperty("state").GetString()!,
            DateTimeOffset.Parse(v.GetProperty("openedAt").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            v.GetProperty("attempts").GetInt32(),
            v.GetProperty("heldBack").ValueKind == JsonValueKind.String ? v.GetProperty("heldBack").GetString() : null)).ToList();
    }

    public override string ToString() => Raw;
}

/// <summary>One violation as a replica's tick line reports it.</summary>
internal sealed record ViolationLine(string Rule, string Resource, string State, DateTimeOffset OpenedAt, int Attempts, string? HeldBack);
