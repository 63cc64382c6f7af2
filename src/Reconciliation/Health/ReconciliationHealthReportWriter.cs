using System.Collections;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reconciliation;

/// <summary>
/// Writes a <see cref="HealthReport"/> as JSON with each entry's data in full: the reconciliation check's open violations
/// (rule/resource → signal, observed, limit, severity, state, openedAt, attempts), probe failures and the report's age,
/// where writers that call <c>ToString()</c> on a value print a type name. Use it as the response writer of a health
/// endpoint: <c>ResponseWriter = (ctx, report) =&gt; { ctx.Response.ContentType = ReconciliationHealthReportWriter.ContentType;
/// return ReconciliationHealthReportWriter.WriteAsync(ctx.Response.Body, report, ctx.RequestAborted); }</c>.
/// </summary>
/// <remarks>
/// Output: <c>{"status":"Degraded","totalDuration":0.0012,"entries":{"&lt;name&gt;":{"status":..,"description":..,
/// "duration":..,"tags":[..],"data":{..},"error":..}}}</c>; durations in seconds. An entry's exception is written as its
/// scrubbed type and message (never a connection string), not its stack trace.
/// </remarks>
public static class ReconciliationHealthReportWriter
{
    /// <summary>The content type of the output: <c>application/json; charset=utf-8</c>.</summary>
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>Writes <paramref name="report"/> to <paramref name="stream"/> as UTF-8 JSON.</summary>
    public static async Task WriteAsync(Stream stream, HealthReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(report);
        var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        await using (writer.ConfigureAwait(false))
        {
            Write(writer, report);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="report"/> as one JSON object to <paramref name="writer"/> (not flushed).</summary>
    public static void Write(Utf8JsonWriter writer, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status.ToString());
        writer.WriteNumber("totalDuration", report.TotalDuration.TotalSeconds);
        writer.WriteStartObject("entries");
        foreach (var (name, entry) in report.Entries)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status", entry.Status.ToString());
            if (entry.Description is not null)
            {
                writer.WriteString("description", entry.Description);
            }

            writer.WriteNumber("duration", entry.Duration.TotalSeconds);
            writer.WriteStartArray("tags");
            foreach (var tag in entry.Tags)
            {
                writer.WriteStringValue(tag);
            }

            writer.WriteEndArray();
            writer.WriteStartObject("data");
            foreach (var (key, value) in entry.Data)
            {
                writer.WritePropertyName(key);
                WriteValue(writer, value, depth: 0);
            }

            writer.WriteEndObject();
            if (entry.Exception is { } exception)
            {
                writer.WriteString("error", SecretScrubber.Describe(exception));
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value, int depth)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double d:
                writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumberValue(f);
                break;
            case int or long or short or byte or uint or ulong or ushort or sbyte or decimal:
                writer.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!, skipInputValidation: true);
                break;
            case DateTimeOffset at:
                writer.WriteStringValue(at);
                break;
            case TimeSpan span:
                writer.WriteNumberValue(span.TotalSeconds);
                break;
            case Enum e:
                writer.WriteStringValue(e.ToString());
                break;
            case IEnumerable<KeyValuePair<string, object>> map when depth < 8:
                writer.WriteStartObject();
                foreach (var (key, inner) in map)
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, inner, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable list when depth < 8:
                writer.WriteStartArray();
                foreach (var inner in list)
                {
                    WriteValue(writer, inner, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(SecretScrubber.Scrub(Convert.ToString(value, CultureInfo.InvariantCulture)));
                break;
        }
    }
}
