using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Status;
using Xunit;

namespace Reconciliation.Tests.Status;

public sealed class ReconciliationStatusTests
{
    [Fact]
    public async Task Status_shows_each_signal_against_the_rules_that_watch_it_and_the_open_violation()
    {
        var probe = new SettableProbe("disk", "demo.fill", SignalUnits.Ratio) { Value = 0.95 };
        await using var provider = Build(probe);
        var reconciler = provider.GetRequiredService<IReconciler>();
        await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);

        var status = await provider.GetRequiredService<ReconciliationStatusProvider>().GetAsync(cancellationToken: TestContext.Current.CancellationToken);

        var signal = Assert.Single(status.Signals, s => s.Signal == "demo.fill");
        Assert.Equal(0.95, signal.Value);
        var threshold = Assert.Single(signal.Thresholds);
        Assert.Equal(("disk-full", "above", 0.9, 0.8, true), (threshold.Rule, threshold.Direction, threshold.Limit, threshold.Clear, threshold.Breaching));
        var violation = Assert.Single(status.Violations);
        Assert.Equal("disk-full", violation.Rule);
        Assert.False(status.IsHealthy);

        probe.Value = 0.5;
        await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken);
        status = await provider.GetRequiredService<ReconciliationStatusProvider>().GetAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(status.IsHealthy);
        Assert.False(Assert.Single(status.Signals, s => s.Signal == "demo.fill").Thresholds[0].Breaching);
    }

    [Fact]
    public async Task Json_is_camel_case_with_enums_as_strings_and_no_reading_as_null()
    {
        var probe = new SettableProbe("disk", "demo.fill", SignalUnits.Ratio) { Value = double.NaN };
        await using var provider = Build(probe);
        await provider.GetRequiredService<IReconciler>().ReconcileOnceAsync(TestContext.Current.CancellationToken);
        var status = await provider.GetRequiredService<ReconciliationStatusProvider>().GetAsync(cancellationToken: TestContext.Current.CancellationToken);

        using var json = JsonDocument.Parse(ReconciliationStatusJson.Serialize(status));
        var signals = json.RootElement.GetProperty("signals");
        var fill = signals.EnumerateArray().Single(s => s.GetProperty("signal").GetString() == "demo.fill");
        Assert.Equal(JsonValueKind.Null, fill.GetProperty("value").ValueKind);
        Assert.Equal("above", fill.GetProperty("thresholds")[0].GetProperty("direction").GetString());
        Assert.Equal("Degraded", fill.GetProperty("thresholds")[0].GetProperty("severity").GetString());
        Assert.True(json.RootElement.GetProperty("isHealthy").GetBoolean());
    }

    [Fact]
    public void The_status_page_is_embedded_and_polls_the_json_endpoint()
    {
        var html = ReconciliationStatusPage.Html;

        Assert.StartsWith("<!doctype html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("status.json", html, StringComparison.Ordinal);
        Assert.Contains("id=\"violations\"", html, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(SettableProbe probe)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddProbe(_ => probe)
            .AddRule("disk-full", r =>
            {
                r.Signal = "demo.fill";
                r.Above = 0.9;
                r.Clear = 0.8;
            });
        return services.BuildServiceProvider();
    }

    private sealed class SettableProbe(string resource, string signal, string unit) : IProbe
    {
        public double Value { get; set; }

        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(signal, unit, "a value the test sets")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            writer.Write(0, Value);
            return ValueTask.CompletedTask;
        }
    }
}
