using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reconciliation.Status;

/// <summary>JSON for status endpoints (camelCase, enums as strings), source-generated so it works trimmed and AOT.</summary>
public static class ReconciliationStatusJson
{
    /// <summary>Writes <paramref name="status"/> as JSON to <paramref name="stream"/>.</summary>
    public static Task WriteAsync(Stream stream, ReconciliationStatus status, CancellationToken cancellationToken = default) =>
        JsonSerializer.SerializeAsync(stream, status, StatusJsonContext.Default.ReconciliationStatus, cancellationToken);

    /// <summary>Returns <paramref name="status"/> as a JSON string.</summary>
    public static string Serialize(ReconciliationStatus status) => JsonSerializer.Serialize(status, StatusJsonContext.Default.ReconciliationStatus);

    /// <summary>Writes a report as JSON (the same shape the deploy gate prints).</summary>
    public static string Serialize(ReconciliationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return JsonSerializer.Serialize(new ReconciliationStatus
        {
            ReportTime = report.Timestamp,
            Tick = report.Tick,
            Interval = report.Interval,
            IsHealthy = report.IsHealthy,
            Signals = report.Signals.Select(s => new SignalStatus(s.Signal, s.Resource, s.Unit, s.Value, [])).ToArray(),
            Violations = report.Violations,
            ProbeFailures = report.ProbeFailures,
            HealingPausedUntil = report.HealingPausedUntil,
        }, StatusJsonContext.Default.ReconciliationStatus);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ReconciliationStatus))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
