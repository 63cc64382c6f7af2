using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Xunit;

namespace Reconciliation.Postgres.Tests.DependencyInjection;

/// <summary>Registration shapes. No server is needed: nothing connects until a probe runs.</summary>
public sealed class PostgresReconciliationBuilderExtensionsTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=app;Password=not-used;Application Name=orders-api";

    private static ServiceProvider Build(Action<IReconciliationBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        configure(collection.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero));
        services?.Invoke(collection);
        return collection.BuildServiceProvider();
    }

    [Fact]
    public async Task Default_registration_is_the_postgres_resource_with_two_probes_and_three_healers()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var provider = Build(b => b.AddPostgres(dataSource));

        var probes = provider.GetServices<IProbe>().Where(p => p.Resource == PostgresReconciliationOptions.DefaultResource).ToList();
        Assert.Equal(2, probes.Count);
        Assert.Equal(
            [PostgresSignalNames.PoolUsage, PostgresSignalNames.PoolPending, PostgresSignalNames.ConnectionsUsage,
             PostgresSignalNames.IdleInTransactionCount, PostgresSignalNames.IdleInTransactionMaxAge, PostgresSignalNames.LocksBlocked,
             PostgresSignalNames.LocksMaxWait, PostgresSignalNames.Recovery],
            probes.SelectMany(p => p.Signals).Select(s => s.Name));

        var healers = provider.GetServices<IHealer>().Where(h => h.AppliesTo("postgres")).Select(h => h.Name).ToList();
        Assert.Contains(PostgresHealerNames.ClearPool, healers);
        Assert.Contains(PostgresHealerNames.TerminateIdleInTransaction, healers);
        Assert.Contains(PostgresHealerNames.CancelBlockers, healers);
        var cancel = provider.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.CancelBlockers);
        Assert.True(cancel.IsDestructive);
        Assert.Equal(HealScope.SharedResource, cancel.Scope);
        Assert.Equal(HealScope.Process, provider.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.ClearPool).Scope);
        Assert.True(provider.GetServices<IHealer>().Single(h => h.Name == PostgresHealerNames.TerminateIdleInTransaction).IsDestructive);

        // The app's Application Name is the default list of sessions the terminate healer may act on.
        Assert.Equal(["orders-api"], provider.GetRequiredKeyedService<PostgresResource>("postgres").ApplicationNames);
    }

    [Fact]
    public async Task Options_resource_names_the_registration()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var provider = Build(b => b.AddPostgres(dataSource, o => o.Resource = "orders-db"));

        Assert.Equal(2, provider.GetServices<IProbe>().Count(p => p.Resource == "orders-db"));
        Assert.Equal("orders-db", provider.GetRequiredService<PostgresMigrationGate>().Resource);
    }

    [Fact]
    public async Task Several_databases_each_get_their_own_probes_healers_and_gate()
    {
        await using var orders = NpgsqlDataSource.Create(ConnectionString);
        await using var billing = NpgsqlDataSource.Create(ConnectionString.Replace("orders-api", "billing-api", StringComparison.Ordinal));
        await using var provider = Build(b => b.AddPostgres("orders", orders).AddPostgres("billing", billing));

        foreach (var resource in new[] { "orders", "billing" })
        {
            Assert.Equal(2, provider.GetServices<IProbe>().Count(p => p.Resource == resource));
            foreach (var name in new[] { PostgresHealerNames.ClearPool, PostgresHealerNames.TerminateIdleInTransaction, PostgresHealerNames.CancelBlockers })
            {
                // Exactly one instance of each healer answers for each resource.
                Assert.Single(provider.GetServices<IHealer>(), h => h.Name == name && h.AppliesTo(resource));
            }

            Assert.Equal(resource, provider.GetRequiredKeyedService<PostgresMigrationGate>(resource).Resource);
        }

        Assert.Same(billing, provider.GetRequiredKeyedService<PostgresResource>("billing").DataSource);
        Assert.Equal(["billing-api"], provider.GetRequiredKeyedService<PostgresResource>("billing").ApplicationNames);
        Assert.Equal("orders", provider.GetRequiredService<PostgresMigrationGate>().Resource); // the first registration
    }

    [Fact]
    public async Task Takes_the_apps_data_source_from_DI()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var provider = Build(b => b.AddPostgres(), services => services.AddSingleton(dataSource));

        Assert.Same(dataSource, provider.GetRequiredKeyedService<PostgresResource>("postgres").DataSource);
    }

    [Fact]
    public async Task Takes_a_keyed_data_source_through_a_factory()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var provider = Build(
            b => b.AddPostgres("reports", sp => sp.GetRequiredKeyedService<NpgsqlDataSource>("reports")),
            services => services.AddKeyedSingleton("reports", dataSource));

        Assert.Same(dataSource, provider.GetRequiredKeyedService<PostgresResource>("reports").DataSource);
    }

    [Fact]
    public async Task Binds_options_from_configuration()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reconciliation:Postgres:main-db:TerminateIdleInTransactionAfter"] = "00:00:05",
            ["Reconciliation:Postgres:main-db:ApplicationNames:0"] = "orders-api",
            ["Reconciliation:Postgres:main-db:ApplicationNames:1"] = "orders-worker",
            ["Reconciliation:Postgres:main-db:Replicas"] = "4",
        }).Build();
        await using var provider = Build(b => b.AddPostgres("main-db", configuration.GetSection("Reconciliation:Postgres:main-db"), _ => dataSource));

        var options = provider.GetRequiredService<IOptionsMonitor<PostgresReconciliationOptions>>().Get("main-db");
        Assert.Equal(TimeSpan.FromSeconds(5), options.TerminateIdleInTransactionAfter);
        Assert.Equal(4, options.Replicas);
        Assert.Equal("main-db", options.Resource);
        Assert.Equal(["orders-api", "orders-worker"], provider.GetRequiredKeyedService<PostgresResource>("main-db").ApplicationNames);
    }

    [Fact]
    public async Task Registering_the_same_resource_twice_throws()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        var builder = new ServiceCollection().AddStateReconciliation();
        builder.AddPostgres("main-db", dataSource);

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddPostgres("main-db", dataSource));
        Assert.Contains("'main-db' is already registered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_options_fail_at_start_naming_the_key_without_echoing_a_connection_string()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var provider = Build(b => b.AddPostgres("main-db", dataSource, o =>
        {
            o.TerminateIdleInTransactionAfter = TimeSpan.Zero;
            o.ApplicationNames.Add(PostgresReconciliationOptions.DefaultProbeApplicationName);
            o.ProbeConnectionString = "Host=x;Password=hunter2;Nonsense Key=1";
        }));

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Reconciliation:Postgres:main-db:TerminateIdleInTransactionAfter must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Postgres:main-db:ApplicationNames:0 is the probe's own application name", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Postgres:main-db:ProbeConnectionString is not a valid Npgsql connection string", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }
}
