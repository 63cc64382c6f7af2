using Npgsql;
using Reconciliation.Fleet.Tests.Support;
using Xunit;

namespace Reconciliation.Fleet.Tests.Functional;

/// <summary>
/// The fleet's lease on PostgreSQL (time to live 3 s, renewed while the heal runs, fencing tokens): a holder killed with
/// SIGKILL mid-heal is replaced only after its lease expired, and a holder frozen with SIGSTOP past its time to live
/// wakes up to find its late record refused.
/// </summary>
public sealed class LeaseTests
{
    private const string Resource = "shared";

    [Fact]
    public async Task A_holder_killed_mid_heal_is_replaced_only_after_its_lease_expired_and_tokens_increase()
    {
        var (database, fleet) = await StartFleetAsync(nameof(A_holder_killed_mid_heal_is_replaced_only_after_its_lease_expired_and_tokens_increase));
        await using var _ = fleet;
        await fleet.StartAsync("r1", "r2", "r3");
        fleet.SetFault(Resource, 1);

        var (holder, first) = await fleet.WaitForAnyAsync("acting", (_, l) => l.String("healer") == FleetRules.Hang, "a replica starts the hanging heal");
        var t1 = first.Number("token")!.Value;
        var lease = await Journal.LeaseAsync(database, Resource);
        Assert.NotNull(lease);
        Assert.Equal(t1, lease.Value.Token);
        fleet.SetFault("hang", 1); // the successor's heal ends after 1 s (its verdict fails: the fault stays)

        // The lease cannot expire before the last expiry the server showed while the holder was alive.
        var expiredNoEarlierThan = (await Journal.LeaseAsync(database, Resource))!.Value.ExpiresAt;
        var killedAt = TimeProvider.System.GetUtcNow();
        await holder.KillAsync();

        var (successor, second) = await fleet.WaitForAnyAsync("acting", (p, l) => p != holder && l.String("healer") == FleetRules.Hang && l.Number("token") > t1,
            "another replica takes over the heal");
        var t2 = second.Number("token")!.Value;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"t1={t1} ({holder.Replica}, killed {killedAt:O}, lease valid until at least {expiredNoEarlierThan:O}); t2={t2} ({successor.Replica}, acting {second.At:O}, {(second.At - killedAt).TotalSeconds:0.00} s after the kill)");
        Assert.True(second.At >= expiredNoEarlierThan, $"{successor.Replica} started healing at {second.At:O}, before the killed holder's lease expired ({expiredNoEarlierThan:O})");
        Assert.DoesNotContain(fleet.Lines("acting"), x => x.Process != holder && x.Line.Number("token") is { } t && t > t1 && t < t2);
        Assert.DoesNotContain(fleet.Lines("acting"), x => x.Process != holder && x.Line.At < second.At && x.Line.String("healer") == FleetRules.Hang);

        // The successor's heal lands in the journal; the next attempt (its verdict failed) comes with a higher token still.
        await Eventually.UntilAsync(async () => (await Journal.RowsAsync(database)).Count(r => r.Healer == FleetRules.Hang && r.IsAttempt) >= 2,
            "two attempts after the takeover are journaled", TimeSpan.FromSeconds(45));
        fleet.SetFault(Resource, 0);

        var attempts = (await Journal.RowsAsync(database)).Where(r => r.Healer == FleetRules.Hang && r.IsAttempt).ToList();
        Assert.DoesNotContain(attempts, r => r.Replica == holder.Replica); // killed before it could write
        Assert.Equal(t2, attempts[0].LeaseToken);
        for (var i = 1; i < attempts.Count; i++)
        {
            Assert.True(attempts[i].LeaseToken > attempts[i - 1].LeaseToken,
                $"journal tokens out of order: {string.Join(", ", attempts.Select(a => $"{a.Replica}:{a.LeaseToken}@{a.StartedAt:O}"))}");
        }

        Assert.Equal(137, holder.ExitCode); // 128 + SIGKILL
        fleet.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task A_holder_frozen_past_its_time_to_live_has_its_late_record_refused_by_the_fencing_token()
    {
        var (database, fleet) = await StartFleetAsync(nameof(A_holder_frozen_past_its_time_to_live_has_its_late_record_refused_by_the_fencing_token));
        await using var _ = fleet;
        await fleet.StartAsync("r1", "r2");
        fleet.SetFault(Resource, 1);

        var (frozen, first) = await fleet.WaitForAnyAsync("acting", (_, l) => l.String("healer") == FleetRules.Hang, "a replica starts the hanging heal");
        var t1 = first.Number("token")!.Value;
        fleet.SetFault("hang", 2);
        var expiredNoEarlierThan = (await Journal.LeaseAsync(database, Resource))!.Value.ExpiresAt;
        var frozenFrom = frozen.Count;
        await frozen.PauseAsync();

        var (successor, second) = await fleet.WaitForAnyAsync("acting", (p, l) => p != frozen && l.String("healer") == FleetRules.Hang && l.Number("token") > t1,
            "the other replica takes over while the holder is frozen");
        var t2 = second.Number("token")!.Value;
        Assert.True(second.At >= expiredNoEarlierThan, $"{successor.Replica} started healing at {second.At:O}, before the frozen holder's lease expired ({expiredNoEarlierThan:O})");

        await frozen.ResumeAsync();

        // The woken holder's record of its heal (token t1) is refused by the journal, and it says so.
        var refused = await frozen.WaitForAsync("journal", l => l.String("healer") == FleetRules.Hang && l.Number("token") == t1,
            "the woken holder writes its record", from: frozenFrom);
        Assert.Equal("fenced", refused.String("result"));
        Assert.Contains("lease was lost", refused.String("reason"), StringComparison.Ordinal); // its healer was cancelled when it woke
        await frozen.WaitForAsync("log", l => l.String("event") == "HealRecordFenced", "the woken holder logs HealRecordFenced", from: frozenFrom);

        await Eventually.UntilAsync(async () => (await Journal.RowsAsync(database)).Any(r => r.LeaseToken == t2 && r.IsAttempt),
            "the successor's heal is journaled", TimeSpan.FromSeconds(30));
        fleet.SetFault(Resource, 0);

        var rows = await Journal.RowsAsync(database);
        Assert.DoesNotContain(rows, r => r.LeaseToken == t1);
        // Rows without a token are "lease held elsewhere" skips; every row the frozen replica wrote under a lease came later than t2.
        Assert.All(rows.Where(r => r.Replica == frozen.Replica && r.LeaseToken is not null),
            r => Assert.True(r.LeaseToken > t2, $"a row of the frozen replica with token {r.LeaseToken}"));
        var attempts = rows.Where(r => r.Healer == FleetRules.Hang && r.IsAttempt).ToList();
        for (var i = 1; i < attempts.Count; i++)
        {
            Assert.True(attempts[i].LeaseToken > attempts[i - 1].LeaseToken, "journal tokens out of order");
        }

        Assert.False(frozen.HasExited);
        Assert.False(successor.HasExited);
        fleet.AssertNoSecretPrinted();
    }

    private static async Task<(string Database, ReplicaFleet Fleet)> StartFleetAsync(string scope)
    {
        var pg = await RequireServer.PostgresAsync();
        var database = await pg.CreateDatabaseAsync("lease_" + scope[..Math.Min(20, scope.Length)]);
        var fleet = new ReplicaFleet(FleetRules.Json(), "--coordination", "postgres", "--lease-ttl", "3");
        fleet.SetEnvironment("RECONCILIATION_COORDINATION", new NpgsqlConnectionStringBuilder(database) { ApplicationName = "fleet-coordination" }.ConnectionString, pg.Password);
        fleet.SetFault("hang", 60);
        fleet.SetFault(Resource, 0);
        return (database, fleet);
    }
}
