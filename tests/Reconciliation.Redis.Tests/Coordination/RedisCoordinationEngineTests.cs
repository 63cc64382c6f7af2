using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>The real engine, coordinated through Redis, healing a shared resource.</summary>
public sealed class RedisCoordinationEngineTests
{
    private const string Signal = "test.usage";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_shared_heal_is_recorded_in_the_stream_with_its_lease_token_and_replica_id()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var healer = new SharedHealer();
        await using var harness = ReconcilerHarness.Create(
            b => b.AddProbe(_ => new FixedProbe("db", Signal, 0.9)).AddHealer(_ => healer)
                .AddRule("saturation", r => { r.Signal = Signal; r.Above = 0.8; r.Heal.Add(SharedHealer.HealerName); })
                .UseRedisCoordination(redis.ConnectionString, o => o.KeyPrefix = options.KeyPrefix),
            options: o => o.ReplicaId = "replica-7");

        ReconciliationReport report = await harness.TickAsync();
        for (var i = 0; i < 5 && report.Heals.Count == 0; i++)
        {
            report = await harness.NextTickAsync();
        }

        Assert.Equal(HealOutcomeKind.Healed, Assert.Single(report.Heals).Outcome.Kind);
        Assert.Equal(1, healer.FencingToken);

        // Read back through a journal of its own, as another replica would.
        var journal = new RedisHealJournal(connection, options);
        var records = await journal.RecentAsync(10, Ct);
        var attempt = Assert.Single(records, r => r.IsAttempt);
        Assert.Equal(SharedHealer.HealerName, attempt.Healer);
        Assert.Equal("db", attempt.Resource);
        Assert.Equal("saturation", attempt.Rule);
        Assert.Equal("replica-7", attempt.Replica);
        Assert.Equal(1, attempt.LeaseToken);
        Assert.Equal(1, await journal.CountAttemptsAsync(SharedHealer.HealerName, "db", "replica-7", attempt.StartedAt, Ct));
        Assert.Equal(1L, (long)await connection.GetDatabase().StringGetAsync(options.KeyPrefix + "fence:db"));
    }

    private sealed class SharedHealer : IHealer
    {
        public const string HealerName = "test.shared-fix";

        public long? FencingToken { get; private set; }

        public string Name => HealerName;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.SharedResource;

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
        {
            FencingToken = context.FencingToken;
            return ValueTask.FromResult(HealOutcome.Healed());
        }
    }

    private sealed class FixedProbe(string resource, string signal, double value) : IProbe
    {
        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(signal, SignalUnits.Ratio, "a fixed test reading")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            writer.Write(0, value);
            return ValueTask.CompletedTask;
        }
    }
}
