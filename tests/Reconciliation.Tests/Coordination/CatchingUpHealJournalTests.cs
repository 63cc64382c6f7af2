using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Coordination;

/// <summary>What the engine's wrapper around a shared journal promises while the store is down, and once it is back.</summary>
public sealed class CatchingUpHealJournalTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Records_written_while_the_store_is_down_land_in_order_once_it_is_back_keeping_the_newest_10_000()
    {
        var store = new SwitchableJournal { Down = true };
        using var journal = new CatchingUpHealJournal(store);
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i <= CatchingUpHealJournal.MaxQueued; i++)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await journal.RecordAsync(Record(i), ct));
        }

        // Down: this process's own records answer the counts.
        Assert.Equal(CatchingUpHealJournal.MaxQueued + 1, await journal.CountAllAttemptsAsync(Start, ct));

        store.Down = false;
        await journal.RecordAsync(Record(CatchingUpHealJournal.MaxQueued + 1), ct);

        Assert.Equal(0, journal.Queued);
        Assert.Equal(CatchingUpHealJournal.MaxQueued + 1, store.Written.Count);        // the oldest was dropped from the full queue
        Assert.Equal(Start.AddSeconds(1), store.Written[0].StartedAt);                 // in order, from the oldest kept
        Assert.Equal(Start.AddSeconds(CatchingUpHealJournal.MaxQueued + 1), store.Written[^1].StartedAt);
    }

    private static HealRecord Record(int i) =>
        new("fix", "db", "load", Start.AddSeconds(i), HealOutcomeKind.Failed, "no") { Id = Guid.NewGuid(), Replica = "api-0" };

    private sealed class SwitchableJournal : DelegatingHealJournal
    {
        public bool Down { get; set; }

        public List<HealRecord> Written { get; } = [];

        public override ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new InvalidOperationException("the store is down");
            }

            Written.Add(record);
            return Inner.RecordAsync(record, cancellationToken);
        }
    }
}
