using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Reconciliation.Tool.Gate;

/// <summary>The gate's verdict as text (a table), as GitHub Actions annotations, and as JSON.</summary>
internal static class GateOutput
{
    public static async Task WriteAsync(TextWriter output, bool passed, int ticks, TimeSpan duration, IReadOnlyList<GateFinding> findings, bool gitHub)
    {
        var text = new StringBuilder();
        var blocking = findings.Count(f => f.Blocking);
        text.Append(passed
            ? string.Create(CultureInfo.InvariantCulture, $"reconcile gate: PASS after {ticks} tick(s) in {duration.TotalSeconds:0.#} s: every rule is clear")
            : string.Create(CultureInfo.InvariantCulture, $"reconcile gate: FAIL after {ticks} tick(s) in {duration.TotalSeconds:0.#} s: {blocking} not clear"));
        text.AppendLine(findings.Count > blocking ? string.Create(CultureInfo.InvariantCulture, $" ({findings.Count - blocking} Degraded allowed)") : "");
        if (gitHub)
        {
            foreach (var finding in findings)
            {
                var level = finding.Blocking ? "error" : "warning";
                var title = finding.Rule is null ? $"reconcile gate: {finding.Kind}" : $"reconcile gate: {finding.Rule}";
                text.Append("::").Append(level).Append(" title=").Append(EscapeProperty(title)).Append("::").AppendLine(EscapeData(finding.Describe()));
            }
        }

        if (findings.Count > 0)
        {
            string[] header = ["KIND", "RULE", "RESOURCE", "SIGNAL", "VALUE", "LIMIT", "STATE", "SEVERITY", "DETAIL"];
            var rows = findings.Select(f => new[]
            {
                f.Blocking ? f.Kind : f.Kind + " (allowed)",
                f.Rule ?? "-",
                f.Resource,
                f.Signal ?? "-",
                GateFinding.Format(f.Value),
                f.Limit is null ? "-" : $"{f.Direction} {GateFinding.Format(f.Limit)}",
                f.State,
                f.Severity,
                string.Join("; ", new[] { f.Since is DateTimeOffset since ? "open since " + since.ToString("u", CultureInfo.InvariantCulture) : null, f.Detail }
                    .Where(d => d is not null)) is { Length: > 0 } detail ? detail : "-",
            }).ToList();
            var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
            AppendRow(text, header, widths);
            foreach (var row in rows)
            {
                AppendRow(text, row, widths);
            }
        }

        await output.WriteAsync(text.ToString());
        await output.FlushAsync();
    }

    public static async Task WriteJsonAsync(string path, bool passed, int ticks, TimeSpan duration, TimeSpan wait, IReadOnlyList<GateFinding> findings,
        CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        await using var stream = File.Create(full);
        await using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("result", passed ? "pass" : "fail");
        json.WriteNumber("ticks", ticks);
        json.WriteNumber("elapsedSeconds", Math.Round(duration.TotalSeconds, 3));
        json.WriteNumber("waitSeconds", wait.TotalSeconds);
        json.WriteStartArray("findings");
        foreach (var f in findings)
        {
            json.WriteStartObject();
            json.WriteString("kind", f.Kind);
            json.WriteString("rule", f.Rule);
            json.WriteString("resource", f.Resource);
            json.WriteString("signal", f.Signal);
            WriteNumber(json, "value", f.Value);
            WriteNumber(json, "limit", f.Limit);
            json.WriteString("direction", f.Direction);
            json.WriteString("severity", f.Severity);
            json.WriteString("state", f.State);
            if (f.Since is DateTimeOffset since)
            {
                json.WriteString("since", since);
            }
            else
            {
                json.WriteNull("since");
            }

            json.WriteString("detail", f.Detail);
            json.WriteBoolean("blocking", f.Blocking);
            json.WriteString("message", f.Describe());
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken);
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double v && double.IsFinite(v))
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void AppendRow(StringBuilder text, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        text.AppendLine();
    }

    // GitHub workflow commands: https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions
    private static string EscapeData(string value) =>
        value.Replace("%", "%25", StringComparison.Ordinal).Replace("\r", "%0D", StringComparison.Ordinal).Replace("\n", "%0A", StringComparison.Ordinal);

    private static string EscapeProperty(string value) =>
        EscapeData(value).Replace(":", "%3A", StringComparison.Ordinal).Replace(",", "%2C", StringComparison.Ordinal);
}
