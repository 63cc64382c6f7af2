using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>
/// Keeps this replica's rule state in the <see cref="IRuleStateStore"/>: loads it once at start and puts it back on
/// the rule instances (a restarted replica resumes its open violations, their heal progress and its <c>For</c> timers),
/// then saves it whenever it changed. Saving runs in the background, one save at a time and always of the newest state
/// (a change made while a save runs is saved right after it), so a slow or unreachable store never holds a tick; a
/// failed save is retried on the next tick. Nothing is saved before the load succeeded, so an unreachable store at
/// start never overwrites the state it could not read.
/// </summary>
internal sealed class RuleStateKeeper
{
    private readonly IRuleStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _enabled;
    private readonly Lock _gate = new();
    private bool _loaded;
    private RuleStateSnapshot _wanted = RuleStateSnapshot.Empty;
    private bool _running;
    private bool _failed;
    private Task _saving = Task.CompletedTask;
    private List<InterruptedHeal>? _interrupted;

    public RuleStateKeeper(IRuleStateStore store, TimeProvider time, ILogger logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _enabled = store is not ProcessRuleStateStore;
    }

    /// <summary>Until the saved state is read, the state on the instances is not the episode's whole story.</summary>
    public bool Loaded => !_enabled || _loaded;

    /// <summary>
    /// Hands over, once, the heals that were running when the state was last saved, on violations the restore resumed:
    /// the process ended (killed, crashed) before it could journal them. The engine journals each once, as failed.
    /// </summary>
    public List<InterruptedHeal>? TakeInterrupted()
    {
        var interrupted = _interrupted;
        _interrupted = null;
        return interrupted;
    }

    /// <summary>Loads the saved state and applies it to instances that are not active yet. Returns the saved budget pause.</summary>
    public async Task<DateTimeOffset?> RestoreAsync(RuleInstance[] instances, string replica, TimeSpan deadline, CancellationToken cancellationToken)
    {
        if (Loaded)
        {
            return null;
        }

        RuleStateSnapshot snapshot;
        try
        {
            snapshot = await OutboundCall.RunAsync(_store, token => _store.LoadAsync(replica, token), deadline, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.RuleStateFailed("load this replica's saved state (tried again next tick)", SecretScrubber.Describe(e));
            return null;
        }

        _loaded = true;
        _wanted = snapshot;
        int open = 0, pending = 0;
        foreach (var state in snapshot.Rules)
        {
            var instance = Find(instances, state);
            if (instance is null || instance.IsActive)
            {
                continue; // a rule since removed, or an episode this process already started
            }

            if (state.OpenedAt is { } openedAt)
            {
                instance.Violation = Resume(instance, state, openedAt);
                open++;
                if (state is { RunningHealer: { } healer, RunningSince: { } since })
                {
                    (_interrupted ??= []).Add(new InterruptedHeal(instance.Violation, healer, since));
                }
            }
            else
            {
                // The time the process was down had no readings: it does not count toward For (Gap).
                instance.Breaching = true;
                instance.Accumulated = state.Pending;
                instance.Gap = true;
                pending++;
            }
        }

        if (open + pending > 0)
        {
            _logger.RuleStateResumed(open, pending, replica);
        }

        return snapshot.BudgetPausedUntil;
    }

    /// <summary>
    /// Saves the state in the background when it changed since the last save. <paramref name="anyActive"/> is the evaluator's
    /// count of active instances above zero: with none, and nothing saved before, the healthy tick touches no instance.
    /// </summary>
    public void SaveIfChanged(RuleInstance[] instances, bool anyActive, DateTimeOffset? budgetPausedUntil, string replica, TimeSpan deadline)
    {
        if (!_enabled || !_loaded || (!_failed && _wanted.Rules.Count == 0 && _wanted.BudgetPausedUntil == budgetPausedUntil && !anyActive))
        {
            return; // the healthy tick: nothing active, nothing saved, no allocation
        }

        var snapshot = Take(instances, budgetPausedUntil);
        lock (_gate)
        {
            if (!_failed && snapshot.Equals(_wanted))
            {
                return;
            }

            _wanted = snapshot;
            _failed = false;
            if (_running)
            {
                return; // the save under way saves this one next
            }

            _running = true;
            _saving = SaveAsync(replica, deadline);
        }
    }

    /// <summary>Completes when the saves under way (if any) have ended (for tests and shutdown).</summary>
    public Task WhenSavedAsync()
    {
        lock (_gate)
        {
            return _saving;
        }
    }

    private async Task SaveAsync(string replica, TimeSpan deadline)
    {
        await Task.Yield(); // never on the tick's own stack
        while (true)
        {
            RuleStateSnapshot next;
            lock (_gate)
            {
                next = _wanted;
            }

            try
            {
                // Awaited to its real end, never abandoned at the deadline (the store gets it as a token): an abandoned
                // save could still land after a newer one and leave an older state saved. Off the tick either way.
                using var deadlineSource = new CancellationTokenSource(deadline, _time);
                await Task.Run(() => _store.SaveAsync(replica, next, deadlineSource.Token).AsTask(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.RuleStateFailed("save this replica's state (tried again next tick)", SecretScrubber.Describe(e));
                lock (_gate)
                {
                    _failed = true;
                    _running = false;
                }

                return;
            }

            lock (_gate)
            {
                if (ReferenceEquals(_wanted, next))
                {
                    _running = false;
                    return;
                }
            }
        }
    }

    private static RuleStateSnapshot Take(RuleInstance[] instances, DateTimeOffset? budgetPausedUntil)
    {
        var rules = new List<RuleState>();
        foreach (var instance in instances)
        {
            if (instance.Violation is { } violation)
            {
                var running = violation.Running is { Policy.DryRun: false } heal ? heal : null;
                rules.Add(new RuleState(instance.Rule.Name, instance.Resource)
                {
                    OpenedAt = violation.OpenedAt,
                    State = violation.State == ViolationState.Healing ? ViolationState.Open : violation.State,
                    Attempts = violation.Attempts,
                    HealerIndex = violation.HealerIndex,
                    Healer = violation.CurrentHealer,
                    HealerAttempts = violation.HealerAttempts,
                    ConsecutiveFailures = violation.ConsecutiveFailures,
                    ConsecutiveSkips = violation.ConsecutiveSkips,
                    // A heal awaiting its verdict is not retried before its verification period would have ended.
                    NextAttemptAt = violation.State == ViolationState.Healing && violation.VerifyDeadline > violation.NextAttemptAt
                        ? violation.VerifyDeadline : violation.NextAttemptAt,
                    RunningHealer = running?.Healer.Name,
                    RunningSince = running?.StartedAt,
                });
            }
            else if (instance.Breaching)
            {
                rules.Add(new RuleState(instance.Rule.Name, instance.Resource) { Pending = instance.Accumulated });
            }
        }

        return new RuleStateSnapshot(rules, budgetPausedUntil);
    }

    private static RuleInstance? Find(RuleInstance[] instances, RuleState state)
    {
        foreach (var instance in instances)
        {
            if (string.Equals(instance.Rule.Name, state.Rule, StringComparison.Ordinal) && string.Equals(instance.Resource, state.Resource, StringComparison.Ordinal))
            {
                return instance;
            }
        }

        return null;
    }

    private static ActiveViolation Resume(RuleInstance instance, RuleState state, DateTimeOffset openedAt)
    {
        var violation = new ActiveViolation(instance, double.NaN, openedAt)
        {
            State = state.State == ViolationState.Exhausted ? ViolationState.Exhausted : ViolationState.Open,
            Attempts = state.Attempts,
            NextAttemptAt = state.NextAttemptAt,
        };

        // Resumed by the healer's name: a reload during the downtime may have changed the list.
        var heal = instance.Rule.Heal;
        var index = state.HealerIndex < heal.Length && string.Equals(heal[state.HealerIndex], state.Healer, StringComparison.Ordinal) ? state.HealerIndex
            : state.HealerIndex >= heal.Length && heal.Length > 0 && string.Equals(heal[^1], state.Healer, StringComparison.Ordinal) ? heal.Length // all used up
            : state.Healer is null ? -1 : Array.IndexOf(heal, state.Healer);
        if (index >= 0)
        {
            violation.HealerIndex = index;
            violation.HealerAttempts = state.HealerAttempts;
            violation.ConsecutiveFailures = state.ConsecutiveFailures;
            violation.ConsecutiveSkips = state.ConsecutiveSkips;
        }
        else if (violation.State == ViolationState.Exhausted)
        {
            violation.State = ViolationState.Open; // a new healer list: it gets to try the new healers
        }

        return violation;
    }
}

/// <summary>A heal that was running when its process ended, found in the saved state at restart.</summary>
internal sealed record InterruptedHeal(ActiveViolation Violation, string Healer, DateTimeOffset StartedAt);
