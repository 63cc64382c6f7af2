namespace Reconciliation;

/// <summary>
/// One heal, from the tick that chose it to its verdict: what runs, its outcome once known, the healer's own task
/// (which may outlive a timeout) and the shared-resource lease it holds until both the healer ended and the verdict fell.
/// </summary>
internal sealed class HealExecution
{
    public HealExecution(ActiveViolation violation, IHealer healer, HealPolicy policy, HealContext context, DateTimeOffset startedAt)
    {
        Violation = violation;
        Healer = healer;
        Policy = policy;
        Context = context;
        StartedAt = startedAt;
    }

    public ActiveViolation Violation { get; }

    public IHealer Healer { get; }

    public HealPolicy Policy { get; }

    public HealContext Context { get; }

    /// <summary>The tick time the heal was chosen at (cooldowns and backoff count from here).</summary>
    public DateTimeOffset StartedAt { get; }

    public string Resource => Context.Resource;

    /// <summary>Completes when the outcome is known and its journal record written (or its write failed and was logged).</summary>
    public Task Completion { get; set; } = Task.CompletedTask;

    /// <summary>The healer's own task: the lease is not released before it ended, even after a timeout.</summary>
    public Task HealerEnded { get; set; } = Task.CompletedTask;

    public IHealLeaseHandle? Lease { get; set; }

    /// <summary>The release under way (after the verdict): completes when the healer ended and the lease is returned.</summary>
    public Task? Released { get; set; }

    public HealOutcome Outcome { get; private set; }

    public DateTimeOffset CompletedAt { get; private set; }

    public TimeSpan Duration { get; private set; }

    /// <summary>The attempt's journal record (the verdict is written as a copy of it).</summary>
    public HealRecord? Record { get; set; }

    /// <summary>The engine did not start the healer (lease held or unavailable, host stopping): not the healer's own "skipped".</summary>
    public bool NotStarted { get; set; }

    public void Finish(HealOutcome outcome, DateTimeOffset completedAt, TimeSpan duration)
    {
        Outcome = outcome;
        CompletedAt = completedAt;
        Duration = duration;
    }

    public HealResult ToResult() => new(Context.Rule, Context.Resource, Healer.Name, Context.Attempt, Outcome, Duration);
}
