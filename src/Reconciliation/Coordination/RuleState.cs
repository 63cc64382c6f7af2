namespace Reconciliation;

/// <summary>
/// The saved state of one rule on one resource that is breaching (its <c>For</c> timer running) or open (a violation
/// with its heal progress): what a restarted replica needs to resume the same episode.
/// </summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Resource">The resource.</param>
public sealed record RuleState(string Rule, string Resource)
{
    /// <summary>Breach time accumulated toward the rule's <c>For</c> (while not yet open).</summary>
    public TimeSpan Pending { get; init; }

    /// <summary>When the violation opened; <see langword="null"/> while it is only breaching.</summary>
    public DateTimeOffset? OpenedAt { get; init; }

    /// <summary>The violation's state (<see cref="ViolationState.Healing"/> is resumed as open: its heal's verdict is not known after a restart).</summary>
    public ViolationState State { get; init; }

    /// <summary>Attempts of every healer on the violation.</summary>
    public int Attempts { get; init; }

    /// <summary>The position of the current healer in the rule's list.</summary>
    public int HealerIndex { get; init; }

    /// <summary>The name of the current healer (a reload that changed the list is resumed by name).</summary>
    public string? Healer { get; init; }

    /// <summary>The current healer's attempts on the violation.</summary>
    public int HealerAttempts { get; init; }

    /// <summary>Failed attempts in a row (the backoff exponent).</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>"Skipped" answers in a row.</summary>
    public int ConsecutiveSkips { get; init; }

    /// <summary>Cooldown or backoff: no attempt before this time.</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>
    /// The healer whose heal was running when the state was saved (not a dry-run), or <see langword="null"/>. A replica
    /// killed mid-heal never journaled that attempt; when it restarts it journals it as failed, so it still counts.
    /// </summary>
    public string? RunningHealer { get; init; }

    /// <summary>When the running heal (<see cref="RunningHealer"/>) started.</summary>
    public DateTimeOffset? RunningSince { get; init; }
}
