using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>Registration and start-time validation of <c>UsePostgresCoordination</c> (no server needed).</summary>
public sealed class PostgresCoordinationBuilderExtensionsTests
{
    private const string Secret = "hunter2-coordination";
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=app;Password=" + Secret;

    [Fact]
    public void It_replaces_the_in_memory_journal_lease_and_state_store_and_builds_without_a_cycle()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation().UsePostgresCoordination(ConnectionString);
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.IsType<PostgresHealJournal>(provider.GetRequiredService<IHealJournal>());
        Assert.IsType<PostgresHealLease>(provider.GetRequiredService<IHealLease>());
        Assert.IsType<PostgresRuleStateStore>(provider.GetRequiredService<IRuleStateStore>());
        Assert.Same(provider.GetRequiredService<IHealJournal>(), provider.GetRequiredService<PostgresHealJournal>());
        Assert.NotNull(provider.GetRequiredService<IReconciler>());
    }

    /// <summary>
    /// The store's own data source is NAMED for Npgsql's metrics too: its series carry <c>reconciliation-coordination</c>,
    /// never its connection string (Npgsql tags an unnamed data source with <c>Host=…;Port=…;Username=…</c>).
    /// </summary>
    [Fact]
    public async Task Its_own_data_source_reports_npgsql_metrics_under_its_name_not_its_connection_string()
    {
        var series = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == "Npgsql")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, _, tags, _) =>
        {
            lock (series)
            {
                series.Add(instrument.Name + " " + string.Join(' ', tags.ToArray().Select(t => $"{t.Key}={t.Value}")));
            }
        });
        listener.Start();

        await using var store = PostgresCoordinationStore.CreateDataSource("Host=coordination.example.invalid;Username=pin_metrics_user;Password=" + Secret);
        listener.RecordObservableInstruments();
        string[] seen;
        lock (series)
        {
            seen = [.. series];
        }

        Assert.Contains(seen, s => s.Contains("db.client.connection.pool.name=reconciliation-coordination ", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, s => s.Contains("coordination.example.invalid", StringComparison.Ordinal) || s.Contains("pin_metrics_user", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, s => s.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Its_own_data_source_is_named_reconciliation_coordination_unless_the_string_names_one()
    {
        await using var unnamed = PostgresCoordinationStore.CreateDataSource(ConnectionString);
        Assert.Equal("reconciliation-coordination", new NpgsqlConnectionStringBuilder(unnamed.ConnectionString).ApplicationName);
        await using var named = PostgresCoordinationStore.CreateDataSource(ConnectionString + ";Application Name=orders-coordination");
        Assert.Equal("orders-coordination", new NpgsqlConnectionStringBuilder(named.ConnectionString).ApplicationName);
    }

    [Fact]
    public void Bad_options_fail_at_start_naming_each_full_key_and_never_the_password()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation().UsePostgresCoordination(ConnectionString, o =>
        {
            o.Schema = "Coordination; DROP TABLE x";
            o.LeaseTimeToLive = TimeSpan.FromMilliseconds(500);
            o.JournalRetention = TimeSpan.FromDays(1);
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Reconciliation:Coordination:Postgres:Schema", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Coordination:Postgres:LeaseTimeToLive must be between 00:00:01 and 00:10:00", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Coordination:Postgres:JournalRetention", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_Npgsql_cannot_read_fails_at_start_without_echoing_it()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation().UsePostgresCoordination("Host=db;Password=" + Secret + ";Nonsense Key=1");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Reconciliation:Coordination:Postgres:ConnectionString is not a valid Npgsql connection string", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_bound_from_configuration_apply_and_a_bad_value_names_the_sections_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reconciliation:Coordination:Postgres:Schema"] = "fleet_state",
            ["Reconciliation:Coordination:Postgres:LeaseTimeToLive"] = "00:00:10",
            ["Other:Coordination:LeaseTimeToLive"] = "01:00:00",
        }).Build();

        var good = new ServiceCollection();
        good.AddLogging();
        good.AddStateReconciliation().UsePostgresCoordination(ConnectionString, configuration.GetSection("Reconciliation:Coordination:Postgres"));
        using (var provider = good.BuildServiceProvider())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            var options = provider.GetRequiredService<IOptions<PostgresCoordinationOptions>>().Value;
            Assert.Equal("fleet_state", options.Schema);
            Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseTimeToLive);
        }

        var bad = new ServiceCollection();
        bad.AddLogging();
        bad.AddStateReconciliation().UsePostgresCoordination(ConnectionString, configuration.GetSection("Other:Coordination"));
        using var badProvider = bad.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => badProvider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Other:Coordination:LeaseTimeToLive must be between", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }
}
