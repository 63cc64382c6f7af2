namespace Reconciliation;

/// <summary>What the control gate needs to know about one open violation, and the controls in force.</summary>
/// <param name="Rule">The violation's rule.</param>
/// <param name="Resource">Its resource.</param>
/// <param name="Healer">The healer the rule would run next, or <see langword="null"/> when none is left.</param>
/// <param name="Now">The tick's time.</param>
/// <param name="Pause">The operator's pause, if any.</param>
/// <param name="Silences">Silences (active or not; only those holding at <paramref name="Now"/> count).</param>
/// <param name="Windows">Maintenance windows.</param>
/// <param name="InhibitingRule">An open rule the violation's rule names in <c>InhibitedBy</c>, if any.</param>
/// <param name="FlappingUntil">Until when its rule instance is muted for flapping, if it is.</param>
/// <param name="FlapDetail">What the flap breaker saw (for the report).</param>
/// <param name="Approval">The approval mode of the rule's next healer.</param>
internal readonly record struct ControlGateInput(
    string Rule, string Resource, string? Healer, DateTimeOffset Now, HealingPause? Pause, IReadOnlyList<Silence> Silences,
    IReadOnlyList<MaintenanceWindow> Windows, string? InhibitingRule, DateTimeOffset? FlappingUntil, string? FlapDetail, ApprovalMode Approval)
{
    /// <summary>Why the inhibiting rule still inhibits when it is no longer open (<c>InhibitAfterClose</c>).</summary>
    public string? InhibitDetail { get; init; }
}

/// <summary>
/// The operator controls as one pure decision, checked before the heal policy: an operator's pause first, then
/// silences, maintenance windows, inhibition, the flap breaker and an approval mode of <see cref="ApprovalMode.Off"/>.
/// A hold never stops detection or a running heal's verdict; it only keeps a new heal from starting.
/// </summary>
internal static class ControlGate
{
    public static ControlHold Check(in ControlGateInput input)
    {
        if (input.Pause is { } pause && pause.IsActiveAt(input.Now))
        {
            return new ControlHold(ControlHoldKind.Paused, pause.By, pause.Until, pause.Reason);
        }

        // When several silences hold, the one that ends last is named: it is the one that decides when healing resumes.
        Silence? holding = null;
        foreach (var silence in input.Silences)
        {
            if (silence.IsActiveAt(input.Now) && silence.Matches(input.Rule, input.Resource, input.Healer)
                && (holding is null || silence.EndsAt > holding.EndsAt))
            {
                holding = silence;
            }
        }

        if (holding is not null)
        {
            return new ControlHold(ControlHoldKind.Silenced, holding.Id, holding.EndsAt, $"{holding.Owner}: {holding.Reason}");
        }

        foreach (var window in input.Windows)
        {
            if (window.Matches(input.Rule, input.Resource, input.Healer) && window.IsActiveAt(input.Now))
            {
                return new ControlHold(ControlHoldKind.MaintenanceWindow, window.Name);
            }
        }

        if (input.InhibitingRule is { } inhibitor)
        {
            return new ControlHold(ControlHoldKind.Inhibited, inhibitor, Detail: input.InhibitDetail);
        }

        if (input.FlappingUntil is { } flapping && input.Now < flapping)
        {
            return new ControlHold(ControlHoldKind.Flapping, input.Rule, flapping, input.FlapDetail);
        }

        return input.Approval == ApprovalMode.Off ? new ControlHold(ControlHoldKind.ApprovalOff) : ControlHold.None;
    }
}
