namespace Reconciliation;

/// <summary>Whether the healer the rule names next can be used on the violation's resource.</summary>
internal enum HealerAvailability
{
    /// <summary>Registered, applies to the resource, and allowed to act.</summary>
    Available,

    /// <summary>No registered healer of that name applies to the resource.</summary>
    NotRegistered,

    /// <summary>Destructive, not in <c>AllowDestructive</c>, and not in dry-run.</summary>
    NotOptedIn,
}

/// <summary>The state of one open violation before any journal is asked anything (first step of the planner).</summary>
/// <param name="State">The violation's state.</param>
/// <param name="HealerCount">How many healers the rule lists.</param>
/// <param name="WarmingUp">The engine is within its warm-up (or on its first tick).</param>
/// <param name="HealRunning">A heal of the violation's resource is running (this violation's or another's).</param>
/// <param name="Now">The tick's time.</param>
/// <param name="NextAttemptAt">Cooldown/backoff: no attempt before this.</param>
/// <param name="VerifyDeadline">When the last heal's verification period ends (state <see cref="ViolationState.Healing"/>).</param>
/// <param name="VerifyGrace">How early a tick may judge the verification (timer jitter).</param>
internal readonly record struct HealGateInput(
    ViolationState State, int HealerCount, bool WarmingUp, bool HealRunning, DateTimeOffset Now,
    DateTimeOffset NextAttemptAt, DateTimeOffset VerifyDeadline, TimeSpan VerifyGrace);

/// <summary>The facts about the rule's current healer (second step of the planner), read from the journal.</summary>
/// <param name="HealerIndex">The position of the current healer in the rule's list.</param>
/// <param name="HealerCount">How many healers the rule lists.</param>
/// <param name="Availability">Whether that healer can act on the resource at all.</param>
/// <param name="AttemptsInWindow">Its attempts on the resource within the policy's window (from the journal).</param>
/// <param name="MaxAttempts">The policy's attempts per window.</param>
/// <param name="AttemptedWithinCooldown">It acted on the resource within its cooldown (for an earlier violation).</param>
/// <param name="HealerAttempts">Its attempts on this violation.</param>
/// <param name="ConsecutiveSkips">How many times in a row it answered "skipped" on this violation.</param>
/// <param name="TotalAttempts">Attempts of every healer on this violation.</param>
internal readonly record struct HealChoiceInput(
    int HealerIndex, int HealerCount, HealerAvailability Availability, int AttemptsInWindow, int MaxAttempts,
    bool AttemptedWithinCooldown, int HealerAttempts, int ConsecutiveSkips, int TotalAttempts);

/// <summary>
/// The heal policy as pure decisions: <c>(violation, policy, attempt counts, now) → run | hold back | escalate | exhaust</c>.
/// No engine, no DI, no clock beyond <c>now</c> and no I/O, so every branch is tested as a table. The engine asks
/// <see cref="Gate"/> first (cheap, no journal), and only for a violation that may proceed reads the attempt counts
/// and asks <see cref="Choose"/>; an <see cref="HealDecisionKind.Escalate"/> moves to the next healer and asks again.
/// </summary>
internal static class HealPlanner
{
    /// <summary>Whether an open violation may be healed on this tick at all, or must first get its verdict.</summary>
    public static HealDecision Gate(in HealGateInput input)
    {
        if (input.State == ViolationState.Exhausted)
        {
            return HealDecision.HoldBack(HealReason.Exhausted);
        }

        if (input.State == ViolationState.Healing)
        {
            // The verdict falls on the first tick at the deadline; a tick a hair early (timer jitter) counts as that
            // tick, or the default VerifyWithin of one interval would really wait two.
            return input.Now < input.VerifyDeadline - input.VerifyGrace
                ? HealDecision.HoldBack(HealReason.Verifying)
                : HealDecision.FailVerification;
        }

        if (input.HealerCount == 0)
        {
            return HealDecision.HoldBack(HealReason.NoHealers);
        }

        if (input.HealRunning)
        {
            // Never two heals of one resource at once, and never a second heal of a violation whose heal still runs.
            return HealDecision.HoldBack(HealReason.HealRunning);
        }

        if (input.WarmingUp)
        {
            return HealDecision.HoldBack(HealReason.WarmingUp);
        }

        return input.Now < input.NextAttemptAt ? HealDecision.HoldBack(HealReason.Backoff) : HealDecision.Proceed;
    }

    /// <summary>Whether the rule's current healer runs now, waits, or gives way to the next one.</summary>
    public static HealDecision Choose(in HealChoiceInput input)
    {
        if (input.HealerIndex >= input.HealerCount)
        {
            // Say what really happened: attempts used up, or no healer could ever act (not registered, not opted in).
            return HealDecision.Exhaust(input.TotalAttempts > 0 ? HealReason.AllHealersUsedUp : HealReason.NoHealerCouldAct);
        }

        switch (input.Availability)
        {
            case HealerAvailability.NotRegistered:
                return HealDecision.Escalate(HealReason.NotRegistered);
            case HealerAvailability.NotOptedIn:
                return HealDecision.Escalate(HealReason.NotOptedIn);
        }

        if (input.AttemptsInWindow >= input.MaxAttempts)
        {
            return HealDecision.Escalate(HealReason.AttemptsUsedUp);
        }

        if (input.ConsecutiveSkips >= HealingDefaults.SkipsBeforeEscalation)
        {
            return HealDecision.Escalate(HealReason.KeepsSkipping);
        }

        if (input.AttemptedWithinCooldown && input.HealerAttempts == 0)
        {
            // The same healer acted on the same resource recently, for an earlier violation: its cooldown still holds.
            return HealDecision.HoldBack(HealReason.CoolingDown);
        }

        return HealDecision.Run;
    }
}
