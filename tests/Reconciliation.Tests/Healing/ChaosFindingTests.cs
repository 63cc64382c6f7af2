using Reconciliation.Tests.TestSupport;
using static Reconciliation.Tests.Policies.HealPolicyTests;

namespace Reconciliation.Tests.Healing;

/// <summary>
/// Findings of the chaos storm (tests/Reconciliation.Chaos.Tests, docs/reliability.md), each proven here on a fake clock.
/// </summary>
public sealed class ChaosFindingTests
{
    private const string Signal = "test.usage";

    /// <summary>
    /// Found when the storm drifted the Redis policy a second time: redis.set-policy answered Skipped ("conflict … not
    /// fighting") three times, and the violation was exhausted saying "none applies to the resource, or each is
    /// destructive and not opted in", neither of which was true. The reason must name the skips.
    /// </summary>
    [Fact]
    public async Task A_violation_whose_only_healer_keeps_answering_skipped_is_exhausted_with_that_reason()
    {
        var probe = new TestProbe("db", Signal);
        var refusing = new TestHealer("refusing") { Outcome = _ => HealOutcome.Skipped("conflict: not fighting over it") };
        await using var harness = Build(probe, [refusing], r => r.Heal.Add("refusing"),
            b => b.ConfigureHealer("refusing", p => p.Cooldown = TimeSpan.FromSeconds(10)));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);

        await TickUntilAsync(harness, 60);

        Assert.Equal(HealingDefaults.SkipsBeforeEscalation, refusing.Calls);
        var exhausted = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.ViolationExhausted);
        Assert.Contains("answered \"skipped\"", exhausted.Reason, StringComparison.Ordinal);
        Assert.Contains("0 attempts were made", exhausted.Reason, StringComparison.Ordinal);
    }
}
