using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Reconciliation.PgBouncer.Tests.DependencyInjection;

/// <summary>Registration shapes and start-time validation. No server is needed: nothing connects until a probe runs.</summary>
public sealed class PgBouncerReconciliationBuilderExtensionsTests
{
    private const string Admin = "Host=127.0.0.1;Port=1;Username=admin;Password=not-used-secret";

    private static ServiceProvider Build(Action<IReconciliationBuilder> configure)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        configure(collection.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero));
        return collection.BuildServiceProvider();
    }

    [Fact]
    public async Task One_probe_per_declared_database_and_three_healers_that_apply_only_to_declared_databases()
    {
        await using var provider = Build(b => b.AddPgBouncer("pooler", Admin, o =>
        {
            o.Databases.Add("orders");
            o.Databases.Add("billing");
        }));

        var probes = provider.GetServices<IProbe>().Where(p => p.Resource.StartsWith("pooler/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["pooler/orders", "pooler/billing"], probes.Select(p => p.Resource));
        Assert.Equal(
            [PgBouncerSignalNames.ClientsWaiting, PgBouncerSignalNames.WaitMax, PgBouncerSignalNames.ServersUsage, PgBouncerSignalNames.ClientsUsage,
             PgBouncerSignalNames.PoolMode, PgBouncerSignalNames.QueryAverageTime, PgBouncerSignalNames.TransactionAverageTime, PgBouncerSignalNames.Paused],
            probes[0].Signals.Select(s => s.Name));

        var healers = provider.GetServices<IHealer>().Where(h => h.Name.StartsWith("pgbouncer.", StringComparison.Ordinal)).ToList();
        Assert.Equal([PgBouncerHealerNames.Reconnect, PgBouncerHealerNames.KillDatabase, PgBouncerHealerNames.Resume], healers.Select(h => h.Name));
        Assert.All(healers, h => Assert.Equal(HealScope.SharedResource, h.Scope));
        Assert.Equal([false, true, false], healers.Select(h => h.IsDestructive));
        Assert.All(healers, h =>
        {
            Assert.True(h.AppliesTo("pooler/orders"));
            Assert.True(h.AppliesTo("pooler/billing"));
            Assert.False(h.AppliesTo("pooler/someone-elses"));
            Assert.False(h.AppliesTo("pooler"));
            Assert.False(h.AppliesTo("orders"));
        });

        Assert.Equal("pooler", provider.GetRequiredService<PgBouncerMigrationGate>().Pooler);
    }

    [Fact]
    public async Task Heal_plans_name_the_command_and_the_database()
    {
        await using var provider = Build(b => b.AddPgBouncer("pooler", Admin, o => o.Databases.Add("orders")));
        var context = new HealContext("r", PgBouncerSignalNames.ClientsWaiting, "pooler/orders", 3, 1, RuleSeverity.Degraded, DateTimeOffset.UnixEpoch, 1, dryRun: true);

        var plans = provider.GetServices<IHealer>().Where(h => h.Name.StartsWith("pgbouncer.", StringComparison.Ordinal)).Select(h => h.DescribePlan(context)).ToList();

        Assert.StartsWith("RECONNECT orders", plans[0], StringComparison.Ordinal);
        Assert.StartsWith("KILL orders", plans[1], StringComparison.Ordinal);
        Assert.StartsWith("RESUME orders", plans[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_healer_called_for_a_database_it_was_not_declared_for_skips_without_connecting()
    {
        await using var provider = Build(b => b.AddPgBouncer("pooler", Admin, o => o.Databases.Add("orders")));
        var kill = provider.GetServices<IHealer>().Single(h => h.Name == PgBouncerHealerNames.KillDatabase);
        var context = new HealContext("r", PgBouncerSignalNames.ClientsWaiting, "pooler/billing", 3, 1, RuleSeverity.Degraded, DateTimeOffset.UnixEpoch, 1, dryRun: false);

        var outcome = await kill.HealAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Skipped, outcome.Kind);
    }

    [Fact]
    public async Task A_max_targets_of_zero_skips_without_connecting()
    {
        await using var provider = Build(b => b.AddPgBouncer("pooler", Admin, o => o.Databases.Add("orders")));
        var reconnect = provider.GetServices<IHealer>().Single(h => h.Name == PgBouncerHealerNames.Reconnect);
        var context = new HealContext("r", PgBouncerSignalNames.ClientsWaiting, "pooler/orders", 3, 1, RuleSeverity.Degraded, DateTimeOffset.UnixEpoch, 1, dryRun: false)
        {
            MaxTargets = 0,
        };

        var outcome = await reconnect.HealAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Skipped, outcome.Kind);
        Assert.Contains("MaxTargets is 0", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AdminConnectionString"] = Admin,
            ["Databases:0"] = "orders",
            ["CommandTimeout"] = "00:00:02",
        }).Build();

        await using var provider = Build(b => b.AddPgBouncer("pooler", configuration));

        Assert.Single(provider.GetServices<IProbe>(), p => p.Resource == "pooler/orders");
        Assert.Equal(TimeSpan.FromSeconds(2), provider.GetRequiredService<IOptionsMonitor<PgBouncerReconciliationOptions>>().Get("pooler").CommandTimeout);
    }

    [Fact]
    public void The_same_pooler_name_twice_is_refused()
    {
        var services = new ServiceCollection().AddStateReconciliation();
        services.AddPgBouncer("pooler", Admin, o => o.Databases.Add("a"));
        var error = Assert.Throws<InvalidOperationException>(() => services.AddPgBouncer("pooler", Admin, o => o.Databases.Add("b")));
        Assert.Contains("'pooler' is already registered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_options_fail_at_start_naming_the_full_key_and_never_echo_the_connection_string()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPgBouncer("pooler", Admin + ";Database=orders", o =>
            {
                o.Databases.Add("orders");
                o.Databases.Add("orders");
                o.Databases.Add("pgbouncer");
                o.CommandTimeout = TimeSpan.Zero;
            });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("Reconciliation:PgBouncer:pooler:AdminConnectionString", error.Message, StringComparison.Ordinal);
        Assert.Contains("the admin console is the database 'pgbouncer'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:PgBouncer:pooler:Databases:1 names 'orders' twice", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:PgBouncer:pooler:Databases:2 must not be the admin console database", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:PgBouncer:pooler:CommandTimeout", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-used-secret", error.Message, StringComparison.Ordinal);
    }
}
