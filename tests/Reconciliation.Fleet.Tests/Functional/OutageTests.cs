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
        fleet.SetFault("hang", 3);
        var replicas = await fleet.StartAsync("r1", "r2");
        fleet.SetFault("shared", 1);
        fleet.SetFault("local", 1);

        await fleet.WaitForAnyAsync("acting", (_, l) => l.String("healer") == FleetRules.Hang, "a shared-resource heal is under way");
        await pg.StopAsync();
        var down = TimeProvider.System.GetUtcNow();

        // Process-local heals go on while the store is down: each replica makes (and fails to journal) at least one.
        foreach (var replica in replicas)
        {
            await replica.WaitForAsync("journal", l => l.At > down && l.String("healer") == FleetRules.Local && l.Bool("attempt") == true && l.String("result") == "failed",
                "a process-local heal during the outage");
        }

        await pg.StartAgainAsync();
        var up = TimeProvider.System.GetUtcNow();

        // Caught up: every record any replica failed to write has since been written (or refused by its fencing token).
        await Eventually.UntilAsync(() => Task.FromResult(Unwritten(fleet).Count == 0), "every record failed during the outage is written",
            TimeSpan.FromSeconds(45));
        fleet.SetFault("shared", 0);
        fleet.SetFault("local", 0);

        var rows = await Journal.RowsAsync(database);
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct().Count());
        Assert.DoesNotContain(rows.GroupBy(r => (r.Replica, r.Healer, r.Resource, r.StartedAt, r.IsVerdict)), g => g.Count() > 1);

        // The journal holds exactly what the replicas report having written: nothing lost, nothing twice, nothing fenced.
        var written = fleet.Lines("journal").Where(x => x.Line.String("result") == "ok").Select(x => Guid.Parse(x.Line.String("id")!)).ToHashSet();
        var fenced = fleet.Lines("journal").Where(x => x.Line.String("result") == "fenced").Select(x => Guid.Parse(x.Line.String("id")!)).ToHashSet();
        Assert.Equal(written.Order(), rows.Select(r => r.Id).Order());
        Assert.Empty(fenced.Intersect(rows.Select(r => r.Id)));
        var duringOutage = fleet.Lines("journal").Where(x => x.Line.String("result") == "failed" && x.Line.Bool("attempt") == true)
            .Select(x => Guid.Parse(x.Line.String("id")!)).ToHashSet();
        Assert.NotEmpty(duringOutage);
        Assert.All(duringOutage, id => Assert.Contains(rows, r => r.Id == id));

        // Nobody crashed: every replica is alive and ticks after the restart.
        foreach (var replica in replicas)
        {
            Assert.False(replica.HasExited, $"{replica.Replica} exited");
            await replica.WaitForAsync("tick", l => l.At > up, "a tick after PostgreSQL is back");
        }

        Assert.Equal(2, fleet.Processes.Count);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"rows={rows.Count} attempts={rows.Count(r => r.IsAttempt)} failed-during-outage={duringOutage.Count} fenced={fenced.Count} outage={(up - down).TotalSeconds:0.0} s");
        fleet.AssertNoSecretPrinted();
    }

    /// <summary>Ids a replica failed to write and has not written (nor had refused) since.</summary>
    private static List<string> Unwritten(ReplicaFleet fleet)
    {
        var lines = fleet.Lines("journal").Select(x => x.Line).ToList();
        var done = lines.Where(l => l.String("result") is "ok" or "fenced").Select(l => l.String("id")).ToHashSet();
        return lines.Where(l => l.String("result") == "failed" && !done.Contains(l.String("id"))).Select(l => l.String("id")!).Distinct().ToList();
    }
}
