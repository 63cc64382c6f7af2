using System.Globalization;
using System.Text;
using System.Text.Json;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Health;

/// <summary>
/// The health check's data printed by the shipped writer and by a writer that only calls <c>ToString()</c> on each value
/// (issue 20: a nested dictionary rendered as <c>System.Collections.Generic.Dictionary`2[...]</c>).
/// </summary>
public sealed class ReconciliationHealthReportWriterTests
{
    private const string Signal = "test.latency";

    [Fact]
    public async Task The_writer_prints_each_open_violations_rule_values_and_probe_failure_reasons_as_json()
    {
        await using var harness = Build(out var probe, out var failing);
        probe.Set(Signal, 0.9);
        failing.Throw = new InvalidOperationException("Host=db;Password=hunter2 refused");
        await harness.TickAsync();
        var report = await harness.CheckHealthAsync();

        using var stream = new MemoryStream();
        await ReconciliationHealthReportWriter.WriteAsync(stream, report, TestContext.Current.CancellationToken);
        var json = Encoding.UTF8.GetString(stream.ToArray());

        Assert.DoesNotContain("System.Collections", json, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", json, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        Assert.Equal("Degraded", document.RootElement.GetProperty("status").GetString());
        var entry = document.RootElement.GetProperty("entries").GetProperty("reconciliation");
        Assert.Equal("Degraded", entry.GetProperty("status").GetString());
        Assert.Equal("1 open violation(s).", entry.GetProperty("description").GetString());
        var violation = entry.GetProperty("data").GetProperty("slow/db");
        Assert.Equal(Signal, violation.GetProperty("signal").GetString());
        Assert.Equal(0.9, violation.GetProperty("observed").GetDouble());
        Assert.Equal(0.5, violation.GetProperty("limit").GetDouble());
        Assert.Equal("Degraded", violation.GetProperty("severity").GetString());
        Assert.Equal("Open", violation.GetProperty("state").GetString());
        Assert.Equal(0, violation.GetProperty("attempts").GetInt32());
        Assert.Equal(1, entry.GetProperty("data").GetProperty("tick").GetInt64());
        Assert.Contains("refused", entry.GetProperty("data").GetProperty("probe.failed/down/TestProbe").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_writer_that_calls_ToString_on_each_value_prints_the_values_not_a_type_name()
    {
        await using var harness = Build(out var probe, out _);
        probe.Set(Signal, 0.9);
        await harness.TickAsync();
        var entry = (await harness.CheckHealthAsync()).Entries["reconciliation"];

        // The shape of many hand-written and third-party health writers.
        var printed = string.Join("; ", entry.Data.Select(p => p.Key + ": " + Convert.ToString(p.Value, CultureInfo.InvariantCulture)));

        Assert.DoesNotContain("System.Collections", printed, StringComparison.Ordinal);
        Assert.Contains("slow/db: signal=test.latency, observed=0.9, limit=0.5, severity=Degraded, state=Open", printed, StringComparison.Ordinal);

        // And System.Text.Json, the other usual writer, still sees an object.
        var serialized = JsonSerializer.Serialize(entry.Data);
        Assert.Contains("\"observed\":0.9", serialized, StringComparison.Ordinal);
    }

    private static EngineHarness Build(out TestProbe probe, out TestProbe failing)
    {
        var slow = probe = new TestProbe("db", Signal);
        var down = failing = new TestProbe("down", "test.other");
        return EngineHarness.Create(services =>
        {
            services.AddStateReconciliation(o => { o.Interval = EngineHarness.Interval; o.WarmUp = TimeSpan.Zero; })
                .AddProbe(_ => slow)
                .AddProbe(_ => down)
                .AddRule("slow", r => { r.Signal = Signal; r.Above = 0.5; r.Severity = RuleSeverity.Degraded; });
            services.AddHealthChecks().AddReconciliation();
        });
    }
}
