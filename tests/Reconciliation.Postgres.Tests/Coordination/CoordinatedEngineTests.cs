using Microsoft.Extensions.DependencyInjection;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>An engine with <c>UsePostgresCoordination</c> heals a shared resource under the PostgreSQL lease and journals it.</summary>
public sealed class CoordinatedEngineTests
{
    private const string Signal = "test.load";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_shared_resource_heal_is_recorded_in_heal_journal_with_its_lease_token_and_replica_id()
    {
        var server = await RequireServer.PostgresAsync();
        var connectionString = await server.CreateDatabaseAsync(nameof(CoordinatedEngineTests));
        var probe = new LoadProbe("shared-db");
        var healer = new SharedHealer(probe);
        await using var harness = EngineHarness.Create(b => b
            .UsePostgresCoordination(connectionString)
            .AddProbe(_ => probe)
            .AddHealer(_ => healer)
            .AddRule("load", r => { r.Signal = Signal; r.Above = 0.8; r.Clear = 0.5; r.Heal.Add(SharedHealer.HealerName); }),
            services => services.Configure<ReconciliationOptions>(o => o.ReplicaId = "replica-7"));

        probe.Value = 0.9;
        var report = await harness.TickUntilHealAsync();
        var heal = Assert.Single(report.Heals);
        Assert.Equal(HealOutcomeKind.Healed, heal.Outcome.Kind);
        Assert.NotNull(healer.Token);

        await using var check = CoordinationTestStore.Over(connectionString);
        var row = await check.ScalarAsync<object[]>("""
            SELECT ARRAY[healer, resource, rule, replica, lease_token::text, outcome]::text[] FROM reconciliation.heal_journal WHERE NOT is_verdict
            """);
        Assert.Equal([SharedHealer.HealerName, "shared-db", "load", "replica-7", healer.Token.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "Healed"], row);
        Assert.Equal(healer.Token.Value, await check.ScalarAsync<long>("SELECT token FROM reconciliation.heal_lease WHERE resource = 'shared-db'"));
        Assert.Equal("replica-7", await check.ScalarAsync<string>("SELECT holder FROM reconciliation.heal_lease WHERE resource = 'shared-db'"));
    }

    private sealed class LoadProbe(string resource) : IProbe
    {
        public volatile object? Boxed;

        public double Value
        {
            set => Boxed = value;
        }

        public string Resource => resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(Signal, SignalUnits.Ratio, "test load")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            writer.Write(0, Boxed is double value ? value : double.NaN);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class SharedHealer(LoadProbe probe) : IHealer
    {
        public const string HealerName = "test.shared-fix";

        public long? Token { get; private set; }

        public string Name => HealerName;

        public bool IsDestructive => false;

        public HealScope Scope => HealScope.SharedResource;

        public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
        {
            Token = context.FencingToken;
            probe.Value = 0.1;
            return ValueTask.FromResult(HealOutcome.Healed("load shed"));
        }
    }
}
