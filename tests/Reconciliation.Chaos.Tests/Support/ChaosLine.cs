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

    /// <summary>A tick line's violations: rule, resource, state, and the signal's last observed value against its clear level.</summary>
    public IReadOnlyList<TickViolation> Violations()
    {
        if (!Is("tick") || !_json.TryGetProperty("violations", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var list = new List<TickViolation>();
        foreach (var v in array.EnumerateArray())
        {
            double? Num(string name) => v.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetDouble() : null;
            string Str(string name) => v.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() ?? "" : "";
            list.Add(new TickViolation(Str("rule"), Str("resource"), Str("state"), Num("observed"), Num("clear"),
                !v.TryGetProperty("above", out var above) || above.ValueKind != JsonValueKind.False, Str("heldBack")));
        }

        return list;
    }

    /// <summary>An engine event of <paramref name="kind"/> (optionally on <paramref name="resource"/> / of <paramref name="rule"/>).</summary>
    public bool IsEvent(string kind, string? resource = null, string? rule = null) =>
        Is("event") && String("kind") == kind && (resource is null || String("resource") == resource) && (rule is null || String("rule") == rule);

    /// <summary>A library log record with this event name.</summary>
    public bool IsLog(string eventName) => Is("log") && String("event") == eventName;

    public override string ToString() => $"[{Source}] {Raw}";
}

/// <summary>One violation of a tick line.</summary>
internal sealed record TickViolation(string Rule, string Resource, string State, double? Observed, double? Clear, bool Above, string HeldBack = "")
{
    /// <summary>Still open (a violation that closed this tick is listed once more as Closed).</summary>
    public bool IsOpen => State != "Closed";

    /// <summary>Its signal is back within the clear level (the engine's own test: at or below Clear for an Above rule).</summary>
    public bool SignalCleared => Observed is { } o && Clear is { } c && (Above ? o <= c : o >= c);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Rule} on {Resource} ({State}, observed {Observed?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-"}, clear {(Above ? "<=" : ">=")} {Clear?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-"})");
}
