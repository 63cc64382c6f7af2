using Microsoft.Extensions.Hosting;
using Reconciliation.BuiltIn;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.BuiltIn;

public sealed class AppRestartHealerTests
{
    private const string Signal = "test.usage";

    [Fact]
    public async Task It_is_destructive_and_asks_the_host_to_stop_gracefully()
    {
        var lifetime = new RecordingLifetime();
        var healer = new AppRestartHealer(lifetime);
        var context = new HealContext("r", Signal, "process", 0.9, 0.8, RuleSeverity.Unhealthy, default, 1, dryRun: false);

        var outcome = await healer.HealAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal(AppRestartHealer.HealerName, healer.Name);
        Assert.True(healer.IsDestructive);
        Assert.Equal(HealScope.Process, healer.Scope);
        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Equal(1, lifetime.StopCalls);
    }

    [Fact]
    public async Task Through_the_engine_it_never_stops_the_host_without_opt_in()
    {
        var lifetime = new RecordingLifetime();
        await using var harness = Build(lifetime, allow: false);

        await harness.TickAsync();
        await harness.NextTickAsync();
        await harness.NextTickAsync();

        Assert.Equal(0, lifetime.StopCalls);
    }

    [Fact]
    public async Task Through_the_engine_it_stops_the_host_when_opted_in()
    {
        var lifetime = new RecordingLifetime();
        await using var harness = Build(lifetime, allow: true);

        await harness.TickAsync();
        var report = await harness.NextTickAsync();

        Assert.Equal(1, lifetime.StopCalls);
        Assert.Equal((AppRestartHealer.HealerName, HealOutcomeKind.Healed), (Assert.Single(report.Heals).Healer, report.Heals[0].Outcome.Kind));
    }

    [Fact]
    public async Task Without_a_host_it_is_still_registered_and_fails_with_a_reason_instead_of_breaking_the_container()
    {
        var probe = new TestProbe("db", Signal);
        probe.Set(0.9);
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe).AllowDestructive(AppRestartHealer.HealerName)
            .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(AppRestartHealer.HealerName); }));

        await harness.TickAsync();
        var heal = Assert.Single((await harness.NextTickAsync()).Heals);

        Assert.Equal(HealOutcomeKind.Failed, heal.Outcome.Kind);
        Assert.Contains("IHostApplicationLifetime", heal.Outcome.Reason, StringComparison.Ordinal);
    }

    private static EngineHarness Build(RecordingLifetime lifetime, bool allow)
    {
        var probe = new TestProbe("db", Signal);
        probe.Set(0.9);
        return EngineHarness.Create(services =>
        {
            services.AddSingleton<IHostApplicationLifetime>(lifetime);
            var builder = services.AddStateReconciliation(o => { o.WarmUp = TimeSpan.Zero; o.Interval = EngineHarness.Interval; })
                .AddProbe(_ => probe)
                .AddRule("r", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(AppRestartHealer.HealerName); });
            if (allow)
            {
                builder.AllowDestructive(AppRestartHealer.HealerName);
            }
        });
    }

    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        private int _stopCalls;

        public int StopCalls => Volatile.Read(ref _stopCalls);

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Interlocked.Increment(ref _stopCalls);
    }
}
