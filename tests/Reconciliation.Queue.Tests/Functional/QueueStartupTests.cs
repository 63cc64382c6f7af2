using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>Registration and start against a real PostgreSQL: resolution by name, the app's data source, a refused name that runs no SQL.</summary>
public sealed class QueueStartupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_queue_name_that_is_not_an_identifier_is_refused_at_start_naming_the_key_and_no_sql_runs()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueStartupTests));
        await dataSource.ExecuteAsync("CREATE TABLE IF NOT EXISTS x (id int)");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("jobs; DROP TABLE x", o => o.DataSource = dataSource);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains("Reconciliation:Queues:jobs; DROP TABLE x:TableName", error.Message, StringComparison.Ordinal);
        Assert.Contains(QueueIdentifier.Pattern, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM x")); // still there
    }

    [Fact]
    public async Task The_queue_is_resolvable_by_name_and_brings_its_probe_and_healers()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueStartupTests));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddPostgresQueue("reg_emails", o => o.DataSource = dataSource)
            .AddPostgresQueue("reg_emails") // repeated: harmless
            .AddPostgresQueue("reg_reports", o => o.DataSource = dataSource)
            .AddRule("stuck", r =>
            {
                r.Signal = QueueSignalNames.Stuck;
                r.Above = 0;
                r.Heal.Add(QueueHealerNames.RequeueStuck);
            });
        await using var provider = services.BuildServiceProvider();

        var factory = provider.GetRequiredService<IJobQueueFactory>();
        var emails = factory.GetQueue("reg_emails");
        Assert.Same(emails, provider.GetRequiredKeyedService<IJobQueue>("reg_emails"));
        Assert.Equal("reg_reports", factory.GetQueue("reg_reports").Name);
        var missing = Assert.Throws<InvalidOperationException>(() => factory.GetQueue("nope"));
        Assert.Contains("AddPostgresQueue(\"nope\")", missing.Message, StringComparison.Ordinal);

        var probes = provider.GetServices<IProbe>().Where(p => p.Resource.StartsWith("reg_", StringComparison.Ordinal)).ToList();
        Assert.Equal(["reg_emails", "reg_reports"], probes.Select(p => p.Resource).Order());
        var healers = provider.GetServices<IHealer>().Where(h => h.Name.StartsWith("queue.", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, healers.Count);
        Assert.All(healers, h => Assert.False(h.IsDestructive));
        Assert.Single(healers, h => h.Name == QueueHealerNames.RequeueStuck && h.AppliesTo("reg_emails"));

        var report = await provider.GetRequiredService<IReconciler>().ReconcileOnceAsync(Ct);
        Assert.Equal(0, report.ValueOf(QueueSignalNames.Depth, "reg_emails"));
        Assert.Equal(0, report.ValueOf(QueueSignalNames.Stuck, "reg_reports"));
        Assert.Empty(report.ProbeFailures);
    }

    [Fact]
    public async Task The_apps_own_data_source_from_DI_is_used_when_none_is_set()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueStartupTests));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(dataSource);
        services.AddStateReconciliation().AddPostgresQueue("reg_shared");
        await using var provider = services.BuildServiceProvider();
        var queue = provider.GetRequiredService<IJobQueueFactory>().GetQueue("reg_shared");
        await queue.EnqueueAsync(new WorkItem(1, "shared"), cancellationToken: Ct);
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM reg_shared"));
    }
}
