using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.DependencyInjection;

/// <summary>Thresholds and rules change live on reload; an invalid reload is rejected, logged with its key, and the old configuration keeps running.</summary>
public sealed class ConfigurationReloadTests
{
    private const string Signal = "test.usage";
    private const string Key = "Reconciliation:Rules:saturation";

    [Fact]
    public async Task A_changed_threshold_applies_from_the_next_tick()
    {
        var (root, probe, harness) = Build(ConfigFor.Rule("saturation", Signal, above: 0.8));
        await using var _ = harness;
        probe.Set(0.75);
        Assert.Empty((await harness.TickAsync()).Violations);

        root[$"{Key}:Above"] = "0.7";
        root.Reload();

        var report = await harness.NextTickAsync();
        var violation = Assert.Single(report.Violations);
        Assert.Equal(0.7, violation.Limit);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "Reloaded");
    }

    [Fact]
    public async Task An_open_violation_survives_a_reload_and_closes_by_the_new_clear_level()
    {
        var (root, probe, harness) = Build(ConfigFor.Rule("saturation", Signal, above: 0.8, clear: 0.6));
        await using var _ = harness;
        probe.Set(0.85);
        var opened = Assert.Single((await harness.TickAsync()).Violations);

        root[$"{Key}:Clear"] = "0.5";
        root.Reload();
        probe.Set(0.55); // cleared under the old level (0.6), not under the new one (0.5)
        var afterReload = Assert.Single((await harness.NextTickAsync()).Violations);

        Assert.Equal(ViolationState.Open, afterReload.State);
        Assert.Equal(opened.OpenedAt, afterReload.OpenedAt);
        Assert.Equal(0.5, afterReload.Clear);

        probe.Set(0.5);
        var closed = Assert.Single((await harness.NextTickAsync()).Violations);
        Assert.Equal(ViolationState.Closed, closed.State);
        Assert.Equal(opened.OpenedAt, closed.OpenedAt);
    }

    [Fact]
    public async Task An_invalid_reload_is_rejected_with_its_key_logged_and_the_old_thresholds_keep_running()
    {
        var (root, probe, harness) = Build(ConfigFor.Rule("saturation", Signal, above: 0.8));
        await using var _ = harness;
        probe.Set(0.75);
        await harness.TickAsync();

        root[$"{Key}:Clear"] = "0.95"; // on the wrong side of Above
        root[$"{Key}:Above"] = "0.7";
        var reload = Record.Exception(root.Reload);

        Assert.Null(reload);
        var rejected = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ReloadRejected");
        Assert.Equal(LogLevel.Error, rejected.Level);
        Assert.Contains($"{Key}:Clear", rejected.Message, StringComparison.Ordinal);

        // Still the old limit 0.8: 0.75 does not breach, 0.85 does.
        Assert.Empty((await harness.NextTickAsync()).Violations);
        probe.Set(0.85);
        Assert.Equal(0.8, Assert.Single((await harness.NextTickAsync()).Violations).Limit);
        Assert.Equal(0.8, harness.Engine.CurrentOptions.Rules["saturation"].Above);
    }

    [Fact]
    public async Task A_reload_with_a_value_that_does_not_bind_is_rejected_naming_the_key()
    {
        var (root, probe, harness) = Build(ConfigFor.Rule("saturation", Signal, above: 0.8));
        await using var _ = harness;
        probe.Set(0.85);
        await harness.TickAsync();

        root[$"{Key}:Above"] = "lots";
        Assert.Null(Record.Exception(root.Reload));

        var rejected = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "ReloadRejected");
        Assert.Contains($"{Key}:Above", rejected.Message, StringComparison.Ordinal);
        Assert.Equal(0.8, Assert.Single((await harness.NextTickAsync()).Violations).Limit);
    }

    [Fact]
    public async Task After_an_invalid_reload_a_later_valid_reload_still_applies()
    {
        var (root, probe, harness) = Build(ConfigFor.Rule("saturation", Signal, above: 0.8));
        await using var _ = harness;
        probe.Set(0.75);
        await harness.TickAsync();

        root[$"{Key}:Clear"] = "0.95";
        root.Reload();
        root[$"{Key}:Clear"] = null;
        root[$"{Key}:Above"] = "0.7";
        root.Reload();

        Assert.Equal(0.7, Assert.Single((await harness.NextTickAsync()).Violations).Limit);
    }

    /// <summary>
    /// In a started host, ValidateOnStart has created the framework's IOptionsMonitor, which re-creates the options on
    /// every reload and throws from its change callback when they are invalid. The engine deliberately listens through
    /// IOptionsChangeTokenSource and IOptionsFactory instead; this proves an invalid reload still cannot escape Reload().
    /// </summary>
    [Fact]
    public async Task In_a_started_host_an_invalid_reload_does_not_throw_out_of_Reload_and_the_old_rules_keep_running()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var probe = new TestProbe("db", Signal);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(ConfigFor.Rule("saturation", Signal, above: 0.8));
        builder.Configuration[$"{ConfigFor.Section}:Enabled"] = "false"; // no background loop: ticks on demand
        builder.Logging.AddFakeLogging();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddStateReconciliation(builder.Configuration.GetSection(ConfigFor.Section)).AddProbe(_ => probe);
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var root = (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>();
        var reconciler = host.Services.GetRequiredService<IReconciler>();
        var logs = host.Services.GetFakeLogCollector();
        probe.Set(0.85);
        Assert.Single((await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken)).Violations);

        root[$"{Key}:Clear"] = "0.95";
        var reload = Record.Exception(root.Reload);

        Assert.Null(reload);
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Name == "ReloadRejected" && r.Message.Contains($"{Key}:Clear", StringComparison.Ordinal));
        time.Advance(EngineHarness.Interval);
        Assert.Equal(0.8, Assert.Single((await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken)).Violations).Limit);

        root[$"{Key}:Clear"] = null;
        root[$"{Key}:Above"] = "0.9";
        Assert.Null(Record.Exception(root.Reload));
        time.Advance(EngineHarness.Interval);
        var closed = Assert.Single((await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken)).Violations);
        Assert.Equal((ViolationState.Closed, 0.9), (closed.State, closed.Limit)); // 0.85 is under the new limit (and its default Clear)
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    private static (IConfigurationRoot Root, TestProbe Probe, EngineHarness Harness) Build(Dictionary<string, string?> data)
    {
        var root = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var probe = new TestProbe("db", Signal);
        var harness = EngineHarness.Create(services => services
            .AddStateReconciliation(root.GetSection(ConfigFor.Section))
            .AddProbe(_ => probe));
        _ = harness.Reconciler; // the engine subscribes to reloads when it is created
        return (root, probe, harness);
    }
}
