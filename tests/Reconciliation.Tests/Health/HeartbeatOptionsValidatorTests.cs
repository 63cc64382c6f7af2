using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Reconciliation.Tests.Health;

/// <summary>Bad <c>Reconciliation:Heartbeat</c> values fail start naming the full key.</summary>
public sealed class HeartbeatOptionsValidatorTests
{
    [Fact]
    public void Bad_heartbeat_values_fail_naming_their_full_keys_and_good_ones_bind()
    {
        var bad = Bind(new Dictionary<string, string?>
        {
            ["Reconciliation:Heartbeat:LivenessPort"] = "70000",
            ["Reconciliation:Heartbeat:ReadinessPort"] = "0",
            ["Reconciliation:Heartbeat:StaleAfterIntervals"] = "0.5",
        });
        var error = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<ReconciliationOptions>>().Value);
        Assert.Contains("Reconciliation:Heartbeat:LivenessPort must be between 1 and 65535 (got 70000)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Heartbeat:ReadinessPort must be between 1 and 65535 (got 0)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Heartbeat:StaleAfterIntervals must be between 1 and 1000", error.Message, StringComparison.Ordinal);

        var same = Bind(new Dictionary<string, string?> { ["Reconciliation:Heartbeat:LivenessPort"] = "2305", ["Reconciliation:Heartbeat:ReadinessPort"] = "2305" });
        Assert.Contains("Reconciliation:Heartbeat:ReadinessPort must differ", Assert.Throws<OptionsValidationException>(() => same.GetRequiredService<IOptions<ReconciliationOptions>>().Value).Message, StringComparison.Ordinal);

        var good = Bind(new Dictionary<string, string?> { ["Reconciliation:Heartbeat:File"] = "/tmp/heartbeat", ["Reconciliation:Heartbeat:LivenessPort"] = "2305" });
        var heartbeat = good.GetRequiredService<IOptions<ReconciliationOptions>>().Value.Heartbeat;
        Assert.Equal(("/tmp/heartbeat", 2305, (int?)null, "live"), (heartbeat.File, heartbeat.LivenessPort, heartbeat.ReadinessPort, heartbeat.LiveRuleTag));
    }

    private static ServiceProvider Bind(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(configuration.GetSection("Reconciliation"));
        return services.BuildServiceProvider();
    }
}
