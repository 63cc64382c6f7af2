using Microsoft.Extensions.DependencyInjection;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>A server with <c>rename-command CONFIG ""</c> (or an ACL without CONFIG): every signal still reads from INFO; the contract cannot be restored, and set-policy says so.</summary>
public sealed class AdminRefusedTests
{
    private static RedisServerOptions ConfigDisabled => new() { ExtraArguments = ["--rename-command", "CONFIG", ""] };

    [Fact]
    public async Task A_server_that_refuses_CONFIG_keeps_every_signal_and_set_policy_reports_not_permitted()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(ConfigDisabled);
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b
            .AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.OwnsMaxMemoryPolicy = true; })
            .AddRule("eviction-policy", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); }));

        var first = await harness.TickAsync();
        var second = await harness.NextTickAsync();

        foreach (var report in new[] { first, second })
        {
            Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "redis"));
            Assert.Empty(report.ProbeFailures);
            Assert.Equal(1, report.ValueOf(RedisSignalNames.PolicyDrift, "redis")); // from INFO: the server runs noeviction
            Assert.NotNull(report.ValueOf(RedisSignalNames.ClientsUsage, "redis"));
            Assert.NotNull(report.ValueOf(RedisSignalNames.Latency, "redis"));
        }

        var heal = Assert.Single(second.Heals);
        Assert.Equal(HealOutcomeKind.Skipped, heal.Outcome.Kind);
        Assert.Contains("not permitted", heal.Outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("CONFIG is renamed, disabled or not permitted", heal.Outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_declared_contract_CONFIG_is_not_needed_and_the_probe_reads_normally()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync(ConfigDisabled);
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app));

        var report = await harness.TickAsync();

        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "redis"));
        Assert.NotNull(report.ValueOf(RedisSignalNames.ClientsUsage, "redis"));
    }

    [Fact]
    public async Task An_admin_connection_without_admin_rights_is_reported_as_INFO_refused()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o =>
            o.AdminConnectionFactory = async _ => await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: false))));

        var report = await harness.TickAsync();

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "redis"));
        Assert.Contains("refused INFO", Assert.Single(report.ProbeFailures).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ACL_user_without_config_permission_keeps_every_signal_and_set_policy_is_not_permitted()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using (var root = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            // INFO allowed, CONFIG not: a typical "monitoring" user.
            await root.GetDatabase().ExecuteAsync("ACL", "SETUSER", "watcher", "on", ">watcher-pw", "~*", "&*", "+@all", "-config");
        }

        var options = ConfigurationOptions.Parse(redis.ConnectionString);
        options.User = "watcher";
        options.Password = "watcher-pw";
        await using var app = await ConnectionMultiplexer.ConnectAsync(options);
        await using var harness = ReconcilerHarness.Create(b => b.AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.OwnsMaxMemoryPolicy = true; }));

        var report = await harness.TickAsync();

        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "redis"));
        Assert.Equal(1, report.ValueOf(RedisSignalNames.PolicyDrift, "redis"));

        var healer = harness.Services.GetServices<IHealer>().Single(h => h.Name == RedisHealerNames.SetPolicy && h.AppliesTo("redis"));
        var context = new HealContext("eviction-policy", RedisSignalNames.PolicyDrift, "redis", 1, 0.5, RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, false);
        var outcome = await healer.HealAsync(context, TestContext.Current.CancellationToken);
        Assert.Equal(HealOutcomeKind.Skipped, outcome.Kind);
        Assert.Contains("NOPERM", outcome.Reason, StringComparison.Ordinal);
    }
}
