using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Coordination;

/// <summary>
/// The engine's side of fleet coordination: fenced leases (token recorded, a lost lease cancels the healer), refused
/// late writes, and limits counted per replica for process-scoped healers and per fleet for shared-resource ones.
/// </summary>
public sealed class FleetHealTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_lost_lease_cancels_the_healer_and_the_attempt_is_recorded_as_lost_with_its_token_and_replica()
    {
        var time = new FakeTimeProvider(Start);
        var lease = new ScriptedLease(time, firstToken: 41);
        var journal = new InMemoryHealJournal();
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource, Gate = new TaskCompletionSource() }; // never ends by itself
        await using var harness = Build(time, journal, lease, probe, healer);

        await harness.TickAsync();
        var tick = harness.NextTickAsync();
        await healer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(41, Assert.Single(healer.Contexts).FencingToken);
        time.Advance(EngineHarness.Interval / 2); // the tick stops waiting for the heal, which goes on
        await tick;

        lease.RenewalAnswer = false;      // another holder took it (e.g. this replica paused past its TTL)
        time.Advance(TimeSpan.FromSeconds(5)); // the next renewal (10 s after the lease was taken) finds out
        await harness.Engine.WhenHealOutcomeKnownAsync("db");

        var record = Assert.Single(await journal.RecentAsync(10, TestContext.Current.CancellationToken));
        Assert.Equal((HealOutcomeKind.Failed, 41L, "api-0"), (record.Outcome, record.LeaseToken, record.Replica));
        Assert.Equal("the lease was lost: another holder has it", record.Reason);
        healer.Gate!.SetResult(); // the healer, cancelled, ends at last
        await harness.Engine.WhenResourceFreeAsync("db");
        Assert.Equal(0, lease.Releases); // not ours to release
    }

    [Fact]
    public async Task A_late_record_refused_by_its_fencing_token_is_logged_as_fenced_and_not_as_a_journal_failure()
    {
        var time = new FakeTimeProvider(Start);
        var journal = new FencingJournal { RefuseBelow = 100 };
        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var healer = new TestHealer("fix") { Scope = HealScope.SharedResource };
        await using var harness = Build(time, journal, new ScriptedLease(time, firstToken: 7), probe, healer);

        await harness.TickAsync();
        await harness.NextTickAsync();
        await harness.Engine.WhenHealOutcomeKnownAsync("db");

        Assert.Equal(1, healer.Calls);
        Assert.Empty(journal.Stored);
        var logs = harness.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Id.Name == "HealRecordFenced" && r.Message.Contains("lease token 7", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, r => r.Id.Name == "JournalFailed");
    }

    [Fact]
    public async Task Process_scoped_limits_count_this_replicas_attempts_and_shared_resource_limits_the_fleets()
    {
        var time = new FakeTimeProvider(Start);
        var journal = new InMemoryHealJournal();
        foreach (var healerName in new[] { "clear-own-pool", "fix-shared" })
        {
            for (var i = 0; i < 3; i++)
            {
                // Another replica used up three attempts of each healer on "db" a minute ago.
                await journal.RecordAsync(new HealRecord(healerName, "db", "load", Start.AddMinutes(-1), HealOutcomeKind.Failed, "no") { Replica = "api-1", Id = Guid.NewGuid() },
                    TestContext.Current.CancellationToken);
            }
        }

        var probe = new TestProbe("db", "demo.load");
        probe.Set(0.9);
        var own = new TestHealer("clear-own-pool") { Scope = HealScope.Process };
        var shared = new TestHealer("fix-shared") { Scope = HealScope.SharedResource };
        await using var ownHarness = Build(time, journal, new InMemoryHealLease(time), probe, own, cooldown: TimeSpan.Zero);
        await using var sharedHarness = Build(time, journal, new InMemoryHealLease(time), probe, shared, cooldown: TimeSpan.Zero);

        await ownHarness.TickAsync();
        await sharedHarness.TickAsync();
        time.Advance(EngineHarness.Interval);
        await ownHarness.TickAsync();
        var sharedReport = await sharedHarness.TickAsync();

        Assert.Equal(1, own.Calls);      // this replica's own pool: the other replica's attempts are not its limit
        Assert.Equal(0, shared.Calls);   // the shared resource: the fleet used up its attempts
        Assert.Equal(ViolationState.Exhausted, Assert.Single(sharedReport.Violations).State);
    }

    private static EngineHarness Build(FakeTimeProvider time, IHealJournal journal, IHealLease lease, TestProbe probe, TestHealer healer, TimeSpan? cooldown = null) =>
        EngineHarness.Create(services =>
        {
            services.AddSingleton(journal);
            services.AddSingleton(lease);
            services.AddStateReconciliation(o =>
                {
                    o.Interval = EngineHarness.Interval;
                    o.WarmUp = TimeSpan.Zero;
                    o.ReplicaId = "api-0";
                    o.Healers[healer.Name] = new HealPolicyOptions { Timeout = TimeSpan.FromMinutes(5), MaxAttempts = 3, Cooldown = cooldown };
                })
                .AddProbe(_ => probe)
                .AddHealer(_ => healer)
                .AddRule("load", r =>
                {
                    r.Signal = "demo.load";
                    r.Above = 0.5;
                    r.Heal.Add(healer.Name);
                });
        }, time);

    /// <summary>A lease store of our own contract whose renewals answer as the test says (TTL 30 s).</summary>
    private sealed class ScriptedLease(FakeTimeProvider time, long firstToken) : IHealLease
    {
        private long _next = firstToken;

        public bool RenewalAnswer { get; set; } = true;

        public int Releases { get; set; }

        public ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IHealLeaseHandle?>(new Handle(this, _next++, time));

        private sealed class Handle(ScriptedLease owner, long token, FakeTimeProvider time)
            : RenewingLeaseHandle(token, TimeSpan.FromSeconds(30), time.GetTimestamp(), time)
        {
            protected override ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken) => ValueTask.FromResult(owner.RenewalAnswer);

            protected override ValueTask ReleaseAsync(CancellationToken cancellationToken)
            {
                owner.Releases++;
                return ValueTask.CompletedTask;
            }
        }
    }

    /// <summary>A journal that refuses records whose lease token a later holder superseded, as a shared journal must.</summary>
    private sealed class FencingJournal : DelegatingHealJournal
    {
        public long RefuseBelow { get; init; }

        public List<HealRecord> Stored { get; } = [];

        public override ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
        {
            if (record.LeaseToken < RefuseBelow)
            {
                throw new HealLeaseLostException($"lease token {record.LeaseToken} of {record.Resource} was superseded by {RefuseBelow}");
            }

            Stored.Add(record);
            return Inner.RecordAsync(record, cancellationToken);
        }
    }
}
