using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests.TestSupport;
using Xunit;

namespace Reconciliation.Tests.Engine;

/// <summary>A journal kept in the database being healed fails exactly when it is needed: the tick must still report.</summary>
public sealed class JournalFailureTests
{
    [Fact]
    public async Task An_unreachable_journal_lets_a_process_heal_go_on_under_its_own_records_and_the_record_lands_once_when_it_is_back()
    {
        var probe = new TestProbe("db", "demo.load");
        var healer = new TestHealer("fix") { Outcome = _ => HealOutcome.Failed("not fixed") };
        await using var harness = EngineHarness.Create(o => o.Healers["fix"] = new HealPolicyOptions { MaxAttempts = 1, Cooldown = TimeSpan.Zero }, b => b
            .AddProbe(_ => probe)
            .AddHealer(_ => healer)
            .UseHealJournal<BrokenJournal>()
            .AddRule("load", r =>
            {
                r.Signal = "demo.load";
                r.Above = 0.5;
                r.Heal.Add("fix");
            }));
        var journal = (BrokenJournal)harness.Provider.GetRequiredService<IHealJournal>();
        probe.Set(0.9);

        await harness.TickAsync();
        var report = await harness.NextTickAsync(); // the heal is due while the journal is down

        // The tick reports, and the process-scoped heal ran: its limits counted from this process's own records.
        Assert.Equal(0.9, report.ValueOf("demo.load", "db"));
        Assert.Equal(1, healer.Calls);
        Assert.Contains(harness.Logs.GetSnapshot(), r => r.Id.Name == "JournalFailed");

        // MaxAttempts 1 still holds while the journal is down: no second attempt.
        await harness.NextTickAsync(TimeSpan.FromMinutes(5));
        await harness.NextTickAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(1, healer.Calls);
        Assert.Empty(journal.Written);

        // Back: the queued record lands with the next journal call, once, however many calls follow.
        journal.Down = false;
        await harness.NextTickAsync();
        await harness.Engine.WhenJournalCaughtUpAsync();
        await harness.NextTickAsync();
        await harness.Engine.WhenJournalCaughtUpAsync();
        var written = Assert.Single(journal.Written);
        Assert.Equal(HealOutcomeKind.Failed, written.Outcome);
        Assert.NotEqual(Guid.Empty, written.Id);
    }

    /// <summary>A journal whose database is down until <see cref="Down"/> is cleared; it stores one record per id, as a shared journal must.</summary>
    private sealed class BrokenJournal : IHealJournal
    {
        private readonly InMemoryHealJournal _up = new();
        private readonly Dictionary<Guid, HealRecord> _written = [];

        public bool Down { get; set; } = true;

        public IReadOnlyList<HealRecord> Written => [.. _written.Values];

        public ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new InvalidOperationException("journal database is down");
            }

            return _written.TryAdd(record.Id, record) ? _up.RecordAsync(record, cancellationToken) : ValueTask.CompletedTask;
        }

        public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken) =>
            Down ? throw new InvalidOperationException("journal database is down") : _up.CountAttemptsAsync(healer, resource, replica, since, cancellationToken);

        public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
            Down ? throw new InvalidOperationException("journal database is down") : _up.AttemptTimesAsync(healer, replica, since, max, cancellationToken);

        public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
            Down ? throw new InvalidOperationException("journal database is down") : _up.CountAllAttemptsAsync(since, cancellationToken);

        public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) =>
            Down ? throw new InvalidOperationException("journal database is down") : _up.RecentAsync(max, cancellationToken);
    }
}
