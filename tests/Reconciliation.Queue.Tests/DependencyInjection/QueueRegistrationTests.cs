using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reconciliation.Queue.Tests.Support;
using Reconciliation.Queue.Workers;
using Xunit;

namespace Reconciliation.Queue.Tests.DependencyInjection;

public sealed class QueueRegistrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_bad_table_name_from_configuration_is_refused_at_start_naming_the_full_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reconciliation:Queues:emails:TableName"] = "jobs; DROP TABLE x",
            ["Reconciliation:Queues:emails:Schema"] = "Public",
            ["Reconciliation:Queues:emails:MaxAttempts"] = "0",
        }).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("emails", configuration.GetSection("Reconciliation:Queues:emails"), o => o.DataSource = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("Reconciliation:Queues:emails:TableName 'jobs; DROP TABLE x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Queues:emails:Schema 'Public'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Queues:emails:MaxAttempts must be at least 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jobs")]
    [InlineData("_q1")]
    [InlineData("email_jobs_2")]
    public void Plain_lower_case_identifiers_are_accepted(string name) => Assert.True(QueueIdentifier.IsValid(name));

    [Theory]
    [InlineData("jobs; DROP TABLE x")]
    [InlineData("Jobs")]
    [InlineData("1jobs")]
    [InlineData("jobs\"")]
    [InlineData("")]
    [InlineData("a_name_that_is_far_too_long_for_the_derived_index_names")]
    public void Anything_else_is_refused(string name)
    {
        Assert.False(QueueIdentifier.IsValid(name));
        Assert.Throws<ArgumentException>(() => QueueIdentifier.Quote(name));
    }

    [Fact]
    public async Task A_queue_without_a_data_source_says_how_to_give_it_one()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation().AddPostgresQueue("orphan");
        await using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IJobQueueFactory>().GetQueue("orphan"));
        Assert.Contains("NpgsqlDataSource", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_with_zero_concurrency_is_refused_at_start()
    {
        var dataSource = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"); // never opened: start fails first
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<HandlerScript>();
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("reg_worker", o => o.DataSource = dataSource)
            .AddQueueWorker<ScriptedHandler, WorkItem>("reg_worker", o => o.Concurrency = 0);
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.Contains("Concurrency must be at least 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_heartbeating_slower_than_the_stuck_bound_is_refused_at_start()
    {
        var dataSource = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"); // never opened: start fails first
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<HandlerScript>();
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("reg_slow_heartbeat", o =>
            {
                o.DataSource = dataSource;
                o.HeartbeatTimeout = TimeSpan.FromSeconds(20);
            })
            .AddQueueWorker<ScriptedHandler, WorkItem>("reg_slow_heartbeat", o => o.HeartbeatInterval = TimeSpan.FromSeconds(30));
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(Ct));
        Assert.Contains("HeartbeatTimeout (00:00:20)", error.Message, StringComparison.Ordinal);
    }
}
