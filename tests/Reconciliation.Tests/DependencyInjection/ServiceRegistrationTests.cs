using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.DependencyInjection;

public sealed class ServiceRegistrationTests
{
    /// <summary>
    /// Regression: the built-in app.restart healer asked DI for IHostApplicationLifetime, so a plain ServiceCollection
    /// (a console tool, every adapter's tests) failed to build the container at all.
    /// </summary>
    [Fact]
    public async Task AddStateReconciliation_without_a_host_validates_builds_and_ticks()
    {
        var probe = new TestProbe("db", "test.usage");
        probe.Set(0.5);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe)
            .AddRule("r", r => { r.Signal = "test.usage"; r.Above = 0.8; }));

        var report = await harness.TickAsync();

        Assert.Equal(0.5, report.ValueOf("test.usage", "db"));
        Assert.Empty(report.Violations);
    }

    [Fact]
    public void Repeated_registration_is_harmless()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero);
        services.AddStateReconciliation(o => o.Interval = TimeSpan.FromSeconds(5));
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var engine = provider.GetRequiredService<ReconciliationEngine>();

        Assert.Same(engine, provider.GetRequiredService<IReconciler>());
        // Each hosted service once: the loop, and the heartbeat (idle unless Reconciliation:Heartbeat is configured).
        Assert.Equal(["ReconciliationHeartbeat", "ReconciliationLoop"],
            provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().Select(s => s.GetType().Name).Order(StringComparer.Ordinal));
        Assert.Single(engine.Table.Probes); // the built-in process probe, once
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromSeconds(5)), (engine.CurrentOptions.WarmUp, engine.CurrentOptions.Interval));
    }
}
