using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests.TestSupport;
using Xunit;

namespace Reconciliation.Tests.Engine;

/// <summary>A journal kept in the database being healed fails exactly when it is needed: the tick must still report.</summary>
public sealed class JournalFailureTests
{
    [Fact]
    public async Task A_failing_journal_skips_heals_but_the_tick_still_publishes_its_readings_and_violations()
    {
        var probe = new TestProbe("db", "demo.load");
        var healer = new TestHealer("fix");
        await using var harness = EngineHarness.Create(null, b => b
            .AddProbe(_ => probe)
            .AddHealer(_ => healer)
            .UseHealJournal<BrokenJournal>()
            .AddRule("load", r =>
            {
                r.Signal = "demo.load";
                r.Above = 0.5;
                r.Heal.Add("fix");
            }));
        probe.Set(0.9);

        await harness.TickAsync();
        var report = await harness.NextTickAsync(); // heals would be due now: the journal throws

        Assert.Equal(0.9, report.ValueOf("demo.load", "db"));
        Assert.Single(report.Violations);
        Assert.Empty(report.Heals);
        Assert.Same(report, harness.Reconciler.LatestReport);
        Assert.Equal(0, healer.Calls);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "JournalFailed");
        Assert.StartsWith("the heal journal failed (InvalidOperationException: journal database is down)", Assert.Single(report.Violations).HeldBack, StringComparison.Ordinal);
    }

    private sealed class BrokenJournal : IHealJournal
    {
        public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken) => throw new InvalidOperationException("journal database is down");

        public ValueTask<int> CountAttemptsAsync(string healer, string resource, DateTimeOffset since, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("journal database is down");

        public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("journal database is down");

        public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("journal database is down");
    }
}
