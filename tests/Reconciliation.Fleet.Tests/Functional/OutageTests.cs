using Npgsql;
using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// The coordination store itself goes down: PostgreSQL is stopped while a shared-resource heal runs and started again.
/// No replica crashes, process-local heals go on during the outage, and afterwards the journal holds every record the
/// replicas wrote, each once.
/// </summary>
public sealed class OutageTests
{
    [Fact]
    public async Task PostgreSQL_stopped_and_restarted_during_a_heal_crashes_no_replica_and_the_journal_catches_up_without_duplicates()
    {
        await using var pg = await RequireServer.DedicatedPostgresAsync();
        var database = await pg.CreateDatabaseAsync(nameof(OutageTests));
        var coordination = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "fleet-coordination", Timeout = 2 }.ConnectionString;
        await using var fleet = new ReplicaFleet(FleetRules.Json(FleetRules.Local), "--coordination", "postgres", "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", coordination, pg.Password);
        fleet.SetFault("hang", 10);
        var replicas = await fleet.StartAsync("r1", "r2");
        fleet.SetFault("shared", 1);
        fleet.SetFault("local", 1);

        var (holder, _) = await fleet.WaitForAnyAsync("acting", (_, l) => l.String("healer") == FleetRules.Hang, "a shared-resource heal is under way");
        await pg.StopAsync();
        var down = TimeProvider.System.GetUtcNow();

        // The store stays down past the lease's time to live: the holder cannot renew, its healer is cancelled, the heal
        // is recorded as lost (and queued, the journal being down too).
        await holder.WaitForAsync("event", l => l.String("kind") == "HealFailed" && l.String("healer") == FleetRules.Hang
            && l.String("reason")?.Contains("lease was lost", StringComparison.Ordinal) == true, "the holder's heal ends as lost");
        fleet.SetFault("hang", 1); // later heals of the shared resource end quickly

        // Process-local heals go on while the store is down: each replica makes at least one (and cannot journal it yet).
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("acting", l => l.At > down && l.String("healer") == FleetRules.Local, "a process-local heal during the outage");
            await replica.WaitForAsync("log", l => l.At > down && l.String("event") == "JournalFailed", "the journal failing during the outage");
        }

        await pg.StartAgainAsync();
        var up = TimeProvider.System.GetUtcNow();

        // The faults end; once every replica reports its violations closed, no new record is made.
        fleet.SetFault("shared", 0);
        fleet.SetFault("local", 0);
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("tick", l => l.At > up && l.Violations().All(v => v.State == "Closed"), "a tick with every violation closed");
        }

        // Caught up: every heal any replica started (its healer printed "acting") is in the journal once, as an attempt,
        // or was refused by its fencing token (a lease lost during the outage and taken by another replica since).
        string Compare(IReadOnlyList<JournalRow> rows) => string.Join("; ", replicas.SelectMany(r => new[] { FleetRules.Local, FleetRules.Hang }.Select(h =>
            $"{r.Replica} {h}: acted {Acted(r, h)}, journaled {rows.Count(x => x.Replica == r.Replica && x.Healer == h && x.IsAttempt)}, fenced {Fenced(r, h)}")));
        var caughtUp = await Eventually.HoldsAsync(async () =>
        {
            var rows = await Journal.RowsAsync(database);
            return replicas.All(r => new[] { FleetRules.Local, FleetRules.Hang }.All(h =>
                Acted(r, h) == rows.Count(x => x.Replica == r.Replica && x.Healer == h && x.IsAttempt) + Fenced(r, h)));
        }, TimeSpan.FromSeconds(45));
        var journal = await Journal.RowsAsync(database);
        Assert.True(caughtUp, "the journal did not catch up: " + Compare(journal));
        TestContext.Current.TestOutputHelper?.WriteLine(Compare(journal));

        // No duplicates: one row per id, one attempt (and at most one verdict) per heal.
        Assert.Equal(journal.Count, journal.Select(r => r.Id).Distinct().Count());
        Assert.DoesNotContain(journal.GroupBy(r => (r.Replica, r.Healer, r.Resource, r.StartedAt, r.IsVerdict)), g => g.Count() > 1);

        // The journal holds exactly what the replicas report having written (a write replayed after the outage counts once):
        // every id written before the read is there, and every id there was written (lines may still arrive after the read).
        HashSet<Guid> Written(string result) =>
            fleet.Lines("journal").Where(x => x.Line.String("result") == result).Select(x => Guid.Parse(x.Line.String("id")!)).ToHashSet();
        var writtenBefore = Written("ok");
        var ids = (await Journal.RowsAsync(database)).Select(r => r.Id).ToHashSet();
        var writtenAfter = Written("ok");
        Assert.Empty(writtenBefore.Except(ids));
        Assert.Empty(ids.Except(writtenAfter));
        var fenced = Written("fenced");
        Assert.Empty(fenced.Intersect(ids));

        // The heal lost during the outage is journaled as a failed attempt of its holder (or was refused: a later holder).
        Assert.True(journal.Any(r => r.Replica == holder.Replica && r.Healer == FleetRules.Hang && r.IsAttempt && r.Outcome == "Failed" && r.StartedAt < down)
            || Fenced(holder, FleetRules.Hang) > 0, "the heal lost during the outage is neither in the journal nor refused");

        // Heals made while PostgreSQL was down are among them, from both replicas.
        foreach (var replica in replicas)
        {
            Assert.Contains(journal, r => r.Replica == replica.Replica && r.Healer == FleetRules.Local && r.IsAttempt && r.StartedAt > down && r.StartedAt < up);
        }

        // Nobody crashed: both processes are the ones started, alive, ticking after the restart.
        Assert.Equal(2, fleet.Processes.Count);
        foreach (var replica in replicas)
        {
            Assert.False(replica.HasExited, $"{replica.Replica} exited");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"rows={journal.Count} attempts={journal.Count(r => r.IsAttempt)} fenced={fenced.Count} outage={(up - down).TotalSeconds:0.0} s");
        fleet.AssertNoSecretPrinted();
    }

    private static int Acted(ReplicaProcess replica, string healer) => replica.Lines.Count(l => l.Is("acting") && l.String("healer") == healer);

    private static int Fenced(ReplicaProcess replica, string healer) =>
        replica.Lines.Where(l => l.Is("journal") && l.String("result") == "fenced" && l.String("healer") == healer && l.Bool("attempt") == true)
            .Select(l => l.String("id")).Distinct().Count();
}
