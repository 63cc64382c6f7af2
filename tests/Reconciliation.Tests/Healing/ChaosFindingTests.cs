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

    /// <summary>
    /// Found in the soak: the latency rule's webhook used up its attempts on violations that other faults caused; the
    /// next violation of the rule was exhausted at once saying "none applies to the resource, or each is destructive and
    /// not opted in", while the truth was "its attempts in the window are used up". The reason must say so.
    /// </summary>
    [Fact]
    public async Task A_violation_opened_after_its_healers_used_up_their_window_is_exhausted_with_that_reason()
    {
        var probe = new TestProbe("db", Signal);
        var futile = new TestHealer("futile"); // reports Healed and fixes nothing: each verdict fails
        await using var harness = Build(probe, [futile], r => r.Heal.Add("futile"),
            b => b.ConfigureHealer("futile", p => { p.Cooldown = TimeSpan.Zero; p.MaxAttempts = 1; p.Window = TimeSpan.FromHours(1); }));
        using var events = harness.Events.Subscribe();
        probe.Set(0.9);
        await TickUntilAsync(harness, 60);
        probe.Set(0.1);
        await TickUntilAsync(harness, 80, from: 70);
        Assert.Equal(1, futile.Calls);
        Drain(events);

        probe.Set(0.9); // a new violation within the hour: no attempt left
        await TickUntilAsync(harness, 120, from: 90);

        Assert.Equal(1, futile.Calls);
        var exhausted = Assert.Single(Drain(events), e => e.Kind == ReconciliationEventKind.ViolationExhausted);
        Assert.Contains("spent its attempts within its Window", exhausted.Reason, StringComparison.Ordinal);
    }
}
