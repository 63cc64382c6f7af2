namespace Reconciliation.Tests.Healing;

/// <summary>
/// The heal planner as a table: every branch of <see cref="HealPlanner.Gate"/> and <see cref="HealPlanner.Choose"/>,
/// with no engine, no DI and no clock beyond <c>now</c>. Each row names the branch it covers.
/// </summary>
public sealed class HealPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 1, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private static readonly HealGateInput Open = new(ViolationState.Open, HealerCount: 2, WarmingUp: false, HealRunning: false, Now,
        NextAttemptAt: Now, VerifyDeadline: default, Grace);

    private static readonly HealChoiceInput Fresh = new(HealerIndex: 0, HealerCount: 2, HealerAvailability.Available, AttemptsInWindow: 0,
        MaxAttempts: 3, AttemptedWithinCooldown: false, HealerAttempts: 0, ConsecutiveSkips: 0, TotalAttempts: 0);

    private static readonly (string Branch, HealGateInput Input, HealDecision Expected)[] GateCases =
    [
        ("an open violation past its backoff proceeds", Open, HealDecision.Proceed),
        ("backoff ending exactly now proceeds (inclusive)", Open with { NextAttemptAt = Now }, HealDecision.Proceed),
        ("within cooldown/backoff holds back", Open with { NextAttemptAt = Now.AddTicks(1) }, HealDecision.HoldBack(HealReason.Backoff)),
        ("exhausted holds back for good", Open with { State = ViolationState.Exhausted }, HealDecision.HoldBack(HealReason.Exhausted)),
        ("healing before its verify deadline holds back", Open with { State = ViolationState.Healing, VerifyDeadline = Now.AddSeconds(5) }, HealDecision.HoldBack(HealReason.Verifying)),
        ("healing at its verify deadline fails verification", Open with { State = ViolationState.Healing, VerifyDeadline = Now }, HealDecision.FailVerification),
        ("healing within the jitter grace counts as at the deadline", Open with { State = ViolationState.Healing, VerifyDeadline = Now + Grace }, HealDecision.FailVerification),
        ("healing verification beats warm-up and running heals", Open with { State = ViolationState.Healing, VerifyDeadline = Now, WarmingUp = true, HealRunning = true }, HealDecision.FailVerification),
        ("a rule without healers reports only", Open with { HealerCount = 0 }, HealDecision.HoldBack(HealReason.NoHealers)),
        ("no healers wins over warm-up", Open with { HealerCount = 0, WarmingUp = true }, HealDecision.HoldBack(HealReason.NoHealers)),
        ("a running heal of the resource holds back", Open with { HealRunning = true }, HealDecision.HoldBack(HealReason.HealRunning)),
        ("a running heal wins over warm-up and backoff", Open with { HealRunning = true, WarmingUp = true, NextAttemptAt = Now.AddMinutes(1) }, HealDecision.HoldBack(HealReason.HealRunning)),
        ("warm-up holds back", Open with { WarmingUp = true }, HealDecision.HoldBack(HealReason.WarmingUp)),
        ("warm-up wins over backoff", Open with { WarmingUp = true, NextAttemptAt = Now.AddMinutes(1) }, HealDecision.HoldBack(HealReason.WarmingUp)),
    ];

    private static readonly (string Branch, HealChoiceInput Input, HealDecision Expected)[] ChoiceCases =
    [
        ("an available healer with attempts left runs", Fresh, HealDecision.Run),
        ("one attempt below the limit still runs", Fresh with { AttemptsInWindow = 2 }, HealDecision.Run),
        ("attempts used up in the window escalate", Fresh with { AttemptsInWindow = 3 }, HealDecision.Escalate(HealReason.AttemptsUsedUp)),
        ("a healer that is not registered escalates", Fresh with { Availability = HealerAvailability.NotRegistered }, HealDecision.Escalate(HealReason.NotRegistered)),
        ("a destructive healer not opted in escalates", Fresh with { Availability = HealerAvailability.NotOptedIn }, HealDecision.Escalate(HealReason.NotOptedIn)),
        ("availability is judged before attempts", Fresh with { Availability = HealerAvailability.NotOptedIn, AttemptsInWindow = 9 }, HealDecision.Escalate(HealReason.NotOptedIn)),
        ("two skips in a row still run", Fresh with { ConsecutiveSkips = 2 }, HealDecision.Run),
        ("three skips in a row escalate", Fresh with { ConsecutiveSkips = 3 }, HealDecision.Escalate(HealReason.KeepsSkipping)),
        ("used-up attempts are judged before skips", Fresh with { ConsecutiveSkips = 3, AttemptsInWindow = 3 }, HealDecision.Escalate(HealReason.AttemptsUsedUp)),
        ("an earlier violation's heal within the cooldown holds a fresh healer back", Fresh with { AttemptedWithinCooldown = true }, HealDecision.HoldBack(HealReason.CoolingDown)),
        ("the cooldown of earlier violations does not hold back a healer already working on this one", Fresh with { AttemptedWithinCooldown = true, HealerAttempts = 1 }, HealDecision.Run),
        ("used-up attempts are judged before the cooldown", Fresh with { AttemptedWithinCooldown = true, AttemptsInWindow = 3 }, HealDecision.Escalate(HealReason.AttemptsUsedUp)),
        ("past the last healer after attempts: exhausted, used up", Fresh with { HealerIndex = 2, TotalAttempts = 4 }, HealDecision.Exhaust(HealReason.AllHealersUsedUp)),
        ("past the last healer with no attempt ever: exhausted, none could act", Fresh with { HealerIndex = 2, TotalAttempts = 0 }, HealDecision.Exhaust(HealReason.NoHealerCouldAct)),
        ("index past the end wins over anything else", Fresh with { HealerIndex = 5, Availability = HealerAvailability.NotRegistered }, HealDecision.Exhaust(HealReason.NoHealerCouldAct)),
    ];

    [Fact]
    public void Gate_decides_every_branch_as_the_table_says()
    {
        foreach (var (branch, input, expected) in GateCases)
        {
            Assert.True(expected == HealPlanner.Gate(input), $"{branch}: expected {expected}, got {HealPlanner.Gate(input)}");
        }
    }

    [Fact]
    public void Choose_decides_every_branch_as_the_table_says()
    {
        foreach (var (branch, input, expected) in ChoiceCases)
        {
            Assert.True(expected == HealPlanner.Choose(input), $"{branch}: expected {expected}, got {HealPlanner.Choose(input)}");
        }
    }

    [Fact]
    public void Every_reason_the_planner_gives_reads_as_words()
    {
        foreach (var reason in Enum.GetValues<HealReason>().Where(r => r != HealReason.None))
        {
            var text = HealReasons.Describe(reason, "fix", "db", Now);
            Assert.False(string.IsNullOrWhiteSpace(text), reason.ToString());
        }

        Assert.Equal("cooldown/backoff until 2026-01-01T00:01:00Z", HealReasons.Describe(HealReason.Backoff, "fix", "db", Now));
    }

    [Theory]
    [InlineData(60, 1, 60)]    // the first failure waits the cooldown
    [InlineData(60, 2, 120)]   // then doubles
    [InlineData(60, 3, 240)]
    [InlineData(60, 30, 600)]  // capped at MaxBackoff (10 min), never overflowing
    [InlineData(0, 1, 0)]      // a zero cooldown retries on the next tick once...
    [InlineData(0, 2, 20)]     // ...then backs off from one interval (10 s), so it never retries every tick forever
    [InlineData(0, 3, 40)]
    public void Backoff_grows_from_the_cooldown_or_one_interval_and_is_capped(int cooldownSeconds, int failures, int expectedSeconds)
    {
        var policy = new HealPolicy(TimeSpan.FromSeconds(cooldownSeconds), 3, TimeSpan.FromMinutes(10), 2, TimeSpan.FromMinutes(10),
            TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), DryRun: false, MaxTargets: null, Interval: TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), policy.Backoff(failures));
    }

    [Fact]
    public void The_budget_breaker_opens_at_the_limit_pauses_and_counts_afresh_after_the_pause()
    {
        var budget = new HealBudgetOptions { MaxHeals = 2, Window = TimeSpan.FromMinutes(10), Pause = TimeSpan.FromMinutes(5) };
        var breaker = new HealBudgetController();

        Assert.False(breaker.WouldExceed(Now, heals: 1, budget));
        Assert.False(breaker.IsPaused(Now, out _));
        Assert.True(breaker.WouldExceed(Now, heals: 2, budget));
        Assert.True(breaker.IsPaused(Now.AddMinutes(4), out var resumedEarly));
        Assert.False(resumedEarly);

        Assert.False(breaker.IsPaused(Now.AddMinutes(5), out var resumed));
        Assert.True(resumed);
        Assert.Equal(Now.AddMinutes(5), breaker.CountFrom(Now.AddMinutes(6), budget)); // not the 10-minute window's start
        Assert.Equal(Now.AddMinutes(6), breaker.CountFrom(Now.AddMinutes(16), budget));
    }
}
