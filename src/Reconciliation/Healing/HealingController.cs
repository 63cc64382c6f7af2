namespace Reconciliation;

/// <summary>
/// The heal phase of a tick, around the pure <see cref="HealPlanner"/>: it reads the attempt counts the planner needs
/// (under the tick's deadline), applies its decisions and the heals' outcomes and verdicts to the violations, judges
/// the budget, and hands due heals to the <see cref="HealExecutor"/>. It is the only writer of a violation's heal state.
/// </summary>
internal sealed class HealingController : IDisposable
{
    private readonly HealExecutor _executor;
    private readonly IHealJournal _journal;
    private readonly HealerRegistry _healers;
    private readonly ReconciliationDiagnostics _diagnostics;
    private readonly TimeProvider _time;
    private readonly HealBudgetController _budget = new();
    private readonly ReconciliationControl _control;
    private CancellationTokenSource? _inTickWait;

    public HealingController(HealExecutor executor, IHealJournal journal, HealerRegistry healers, ReconciliationDiagnostics diagnostics, TimeProvider time,
        ReconciliationControl control)
    {
        _control = control;
        _executor = executor;
        _journal = journal;
        _healers = healers;
        _diagnostics = diagnostics;
        _time = time;
    }

    public DateTimeOffset? PausedUntil => _budget.PausedUntil;

    public void Dispose() => _inTickWait?.Dispose();

    /// <summary>Puts back the budget pause this replica saved before a restart.</summary>
    public void RestoreBudgetPause(DateTimeOffset pausedUntil) => _budget.Restore(pausedUntil);

    /// <summary>Applies the outcome of every heal that finished since the last call, and lists them for the report.</summary>
    public async Task CollectAsync(List<HealResult> results)
    {
        while (_executor.TryTakeCompleted(out var execution))
        {
            results.Add(execution.ToResult());
            await ApplyAsync(execution).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for the heals this tick started, at most <see cref="HealingTickSettings.InTickWait"/> (half an interval) from
    /// when the first was started: fast heals are in this tick's report, and a slow one goes on in the background while
    /// the loop keeps probing; its outcome is reported by the tick during which it finished.
    /// </summary>
    public async Task WaitBrieflyAsync(List<HealExecution> started, List<HealResult> results, CancellationToken cancellationToken)
    {
        using var limit = _inTickWait;
        _inTickWait = null;
        var all = started.Count == 1 ? started[0].Completion : Task.WhenAll(started.Select(e => e.Completion));
        try
        {
            await all.WaitAsync(limit?.Token ?? CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            // Still running: the next ticks pick its outcome up.
        }

        await CollectAsync(results).ConfigureAwait(false);
        MarkStillRunning(started);
    }

    /// <summary>Says so on each violation whose heal, started this tick, is still running when the tick reports.</summary>
    private static void MarkStillRunning(List<HealExecution> started)
    {
        foreach (var execution in started)
        {
            if (ReferenceEquals(execution.Violation.Running, execution))
            {
                execution.Violation.HoldBack(HealReason.HealRunning);
            }
        }
    }

    /// <summary>
    /// Heals that were running when this replica's process ended (found in its saved state at restart) count as failed
    /// attempts: on the resumed violation, and in the journal unless the journal already has them (a graceful stop
    /// journals a cancelled heal itself). Without this a healer that kills its own process would be retried forever.
    /// </summary>
    public async Task RecordInterruptedAsync(List<InterruptedHeal> interrupted, string replica, CancellationToken cancellationToken)
    {
        foreach (var heal in interrupted)
        {
            var violation = heal.Violation;
            var rule = violation.Instance.Rule;
            if (violation.HealerIndex < rule.Heal.Length && string.Equals(rule.Heal[violation.HealerIndex], heal.Healer, StringComparison.Ordinal))
            {
                violation.Attempts++;
                violation.HealerAttempts++;
                violation.ConsecutiveFailures++;
                var retryAt = heal.StartedAt + rule.Policies[violation.HealerIndex].Backoff(violation.ConsecutiveFailures);
                if (retryAt > violation.NextAttemptAt)
                {
                    violation.NextAttemptAt = retryAt;
                }
            }

            try
            {
                // A store may keep coarser times than .NET's 100 ns (PostgreSQL keeps microseconds): match within a millisecond.
                var since = heal.StartedAt - HealingDefaults.JournalTimePrecision;
                var journaled = await OutboundCall.RunAsync(_journal, token => _journal.AttemptTimesAsync(heal.Healer, replica, since, HealingDefaults.InterruptedLookup, token),
                    _executor.CallTimeout, _time, cancellationToken).ConfigureAwait(false);
                if (journaled.Any(t => (t - heal.StartedAt).Duration() < HealingDefaults.JournalTimePrecision))
                {
                    continue;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _diagnostics.JournalFailed("look up a heal interrupted by a restart", e);
            }

            await _executor.WriteAsync(new HealRecord(heal.Healer, violation.Instance.Resource, rule.Name, heal.StartedAt, HealOutcomeKind.Failed,
                "the process ended while this heal ran (found when the replica restarted)") { Replica = replica }).ConfigureAwait(false);
        }
    }

    /// <summary>The violation closed: the heal awaiting its verdict succeeded.</summary>
    public async Task OnClosedAsync(ActiveViolation violation, DateTimeOffset now)
    {
        if (violation.AwaitingVerdict is { } execution)
        {
            violation.AwaitingVerdict = null;
            await JudgeHealedAsync(execution, "violation closed", now).ConfigureAwait(false);
        }
    }

    /// <summary>A reload removed or disabled the violation's rule: a pending verdict is recorded as not judged.</summary>
    public async Task OnDroppedAsync(ActiveViolation violation, string reason)
    {
        violation.DroppedBecause = reason;
        if (violation.AwaitingVerdict is { } execution)
        {
            violation.AwaitingVerdict = null;
            await _executor.WriteAsync(execution.Record! with { Outcome = HealOutcomeKind.Skipped, Reason = "not judged: " + reason, IsVerdict = true }).ConfigureAwait(false);
            await _executor.ReleaseAsync(execution).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A reload changed the rule's healer list: continue with the same healer where it is still listed, otherwise start
    /// the new list from its first healer (an exhausted violation gets to try the new healers).
    /// </summary>
    public static void OnHealListChanged(ActiveViolation violation, string? previousHealer)
    {
        var heal = violation.Instance.Rule.Heal;
        var index = previousHealer is null ? -1 : Array.IndexOf(heal, previousHealer);
        if (index < 0)
        {
            violation.HealerIndex = 0;
            violation.HealerAttempts = 0;
            violation.ConsecutiveFailures = 0;
            violation.ConsecutiveSkips = 0;
        }
        else
        {
            violation.HealerIndex = index;
        }

        if (violation.State == ViolationState.Exhausted)
        {
            violation.State = ViolationState.Open;
            violation.ClearHoldBack();
        }
    }

    /// <summary>
    /// Plans every open violation and starts the heals that are due. Journal reads run under one deadline for the whole
    /// phase (<see cref="ReconciliationOptions.CallTimeout"/>): a slow journal holds healing back, never the tick.
    /// </summary>
    public async Task<List<HealExecution>?> PlanAsync(HealingTickSettings settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        List<HealExecution>? started = null;
        // The deadline exists only once there is an open violation to plan: a healthy tick allocates no timer.
        CancellationTokenSource? deadline = null;
        CancellationTokenSource? linked = null;
        var deadlineLogged = false;
        try
        {
            foreach (var instance in settings.Instances)
            {
                if (instance.Violation is not { } violation)
                {
                    continue;
                }

                if (deadline is null)
                {
                    deadline = new CancellationTokenSource(settings.CallTimeout, _time);
                    linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                    // What another replica changed (a silence, an approval) holds here before any heal starts.
                    await _control.RefreshForTickAsync(linked.Token).ConfigureAwait(false);
                }

                if (violation.ClearedSince is { } clearedSince)
                {
                    // KeepFor holds it open although its signal cleared: a heal awaiting its verdict worked, and no new one starts.
                    if (violation.AwaitingVerdict is not null)
                    {
                        await OnClosedAsync(violation, now).ConfigureAwait(false);
                        violation.State = ViolationState.Open;
                    }

                    violation.HoldBack($"the signal cleared at {HealReasons.Format(clearedSince)}; kept open until {HealReasons.Format(clearedSince + violation.Instance.Rule.KeepFor)} (KeepFor)");
                    continue;
                }

                var gate = Gate(violation, settings, now);
                if (gate.Kind == HealDecisionKind.FailVerification)
                {
                    await FailVerificationAsync(violation, now).ConfigureAwait(false);
                    gate = Gate(violation, settings, now);
                }

                if (gate.Kind == HealDecisionKind.Proceed || gate.Reason is HealReason.Backoff or HealReason.WarmingUp)
                {
                    // An operator control is the more useful thing to report than a backoff that would end first.
                    var hold = HoldFor(violation, violation.HealerIndex, settings, now);
                    if (hold.Kind != ControlHoldKind.None)
                    {
                        violation.HoldBy(hold);
                        continue;
                    }
                }

                if (gate.Kind == HealDecisionKind.HoldBack)
                {
                    violation.HoldBack(gate.Reason, gate.Reason switch
                    {
                        HealReason.WarmingUp => settings.WarmUpUntil,
                        HealReason.Backoff => violation.NextAttemptAt,
                        _ => null,
                    });
                    continue;
                }

                if (linked!.IsCancellationRequested)
                {
                    violation.HoldBack(HealReason.DeadlineReached);
                    continue;
                }

                try
                {
                    if (await ChooseAndStartAsync(settings, violation, now, started is null, linked.Token).ConfigureAwait(false) is { } execution)
                    {
                        (started ??= []).Add(execution);
                    }
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException or TimeoutException)
                {
                    violation.HoldBack(HealReason.DeadlineReached);
                    if (!deadlineLogged)
                    {
                        deadlineLogged = true;
                        _diagnostics.Logger.HealDeadlineReached();
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A journal that fails holds this violation back; each other violation and each started heal stands on its own.
                    violation.HoldBack($"the heal journal failed ({SecretScrubber.Describe(e)}); not healed this tick");
                    _diagnostics.JournalFailed("count attempts", e);
                }
            }
        }
        finally
        {
            linked?.Dispose();
            deadline?.Dispose();
        }

        return started;
    }

    /// <summary>The operator control that holds the violation's heal by the healer at <paramref name="healerIndex"/>, if one does.</summary>
    private ControlHold HoldFor(ActiveViolation violation, int healerIndex, HealingTickSettings settings, DateTimeOffset now)
    {
        var rule = violation.Instance.Rule;
        var healer = healerIndex < rule.Heal.Length ? rule.Heal[healerIndex] : null;
        var approval = healerIndex < rule.Approvals.Length ? rule.Approvals[healerIndex] : ApprovalMode.Auto;
        var (inhibitor, inhibitDetail) = FindInhibitor(violation, settings.Instances, now);
        return _control.Check(violation, healer, inhibitor, inhibitDetail, approval, now);
    }

    /// <summary>
    /// A violation of a rule this violation's rule names in <c>InhibitedBy</c> (on the same resource when asked) that is
    /// open, or closed less than <c>InhibitAfterClose</c> ago.
    /// </summary>
    private static (string? Rule, string? Detail) FindInhibitor(ActiveViolation violation, RuleInstance[] instances, DateTimeOffset now)
    {
        var rule = violation.Instance.Rule;
        if (rule.InhibitedBy.Length == 0)
        {
            return default;
        }

        foreach (var instance in instances)
        {
            var inhibiting = instance.Violation is not null
                || (rule.InhibitAfterClose > TimeSpan.Zero && instance.LastClosedAt is { } closedAt && now - closedAt < rule.InhibitAfterClose);
            if (inhibiting && !ReferenceEquals(instance, violation.Instance)
                && Array.Exists(rule.InhibitedBy, name => string.Equals(name, instance.Rule.Name, StringComparison.OrdinalIgnoreCase))
                && (!rule.InhibitSameResource || string.Equals(instance.Resource, violation.Instance.Resource, StringComparison.Ordinal)))
            {
                return (instance.Rule.Name, instance.Violation is not null ? null
                    : $"closed at {HealReasons.Format(instance.LastClosedAt)} and inhibits until {HealReasons.Format(instance.LastClosedAt + rule.InhibitAfterClose)} (InhibitAfterClose)");
            }
        }

        return default;
    }

    private HealDecision Gate(ActiveViolation violation, HealingTickSettings settings, DateTimeOffset now) =>
        HealPlanner.Gate(new HealGateInput(
            violation.State, violation.Instance.Rule.Heal.Length, settings.WarmingUp,
            violation.Running is not null || _executor.IsBusy(violation.Instance.Resource),
            now, violation.NextAttemptAt, violation.VerifyDeadline, settings.VerifyGrace));

    private async Task<HealExecution?> ChooseAndStartAsync(HealingTickSettings settings, ActiveViolation violation, DateTimeOffset now, bool first, CancellationToken cancellationToken)
    {
        var instance = violation.Instance;
        var rule = instance.Rule;
        var firstHealer = violation.HealerIndex;
        while (true)
        {
            IHealer? healer = null;
            HealPolicy? policy = null;
            var availability = HealerAvailability.NotRegistered;
            var inWindow = 0;
            var cooling = false;
            if (violation.HealerIndex < rule.Heal.Length)
            {
                var name = rule.Heal[violation.HealerIndex];
                policy = rule.Policies[violation.HealerIndex];
                healer = _healers.Find(name, instance.Resource);
                availability = healer is null ? HealerAvailability.NotRegistered
                    : healer.IsDestructive && !policy.DryRun && !settings.AllowDestructive.Contains(name) ? HealerAvailability.NotOptedIn
                    : HealerAvailability.Available;
                if (availability == HealerAvailability.Available)
                {
                    // Only real attempts count: a dry-run plan is not an attempt, so switching dry-run off never finds a
                    // violation already escalated or exhausted by plans that were only logged.
                    // Process-scoped healers count this replica's attempts; shared-resource ones the whole fleet's (with a shared journal).
                    var replica = healer!.Scope == HealScope.Process ? _executor.Replica : null;
                    inWindow = await CountAsync(name, instance.Resource, replica, now - policy.Window, settings, cancellationToken).ConfigureAwait(false);
                    // "Since" is inclusive: an attempt exactly one cooldown ago has served it.
                    cooling = policy.Cooldown > TimeSpan.Zero && violation.HealerAttempts == 0 && inWindow > 0
                        && await CountAsync(name, instance.Resource, replica, now - policy.Cooldown + TimeSpan.FromTicks(1), settings, cancellationToken).ConfigureAwait(false) > 0;
                }
            }

            var decision = HealPlanner.Choose(new HealChoiceInput(violation.HealerIndex, rule.Heal.Length, availability, inWindow,
                policy?.MaxAttempts ?? 0, cooling, violation.HealerAttempts, violation.ConsecutiveSkips, violation.Attempts));
            switch (decision.Kind)
            {
                case HealDecisionKind.Exhaust:
                    if (violation.State != ViolationState.Exhausted)
                    {
                        violation.State = ViolationState.Exhausted;
                        violation.HoldBack(decision.Reason);
                        _diagnostics.ViolationExhausted(violation, violation.HeldBack!, now);
                    }

                    return null;
                case HealDecisionKind.Escalate:
                    if (decision.Reason != HealReason.AttemptsUsedUp)
                    {
                        // Never ran (or keeps declining): say so once, then move on to the next healer.
                        var name = rule.Heal[violation.HealerIndex];
                        _diagnostics.HealerPassedOver(violation, name, HealReasons.Describe(decision.Reason, name, instance.Resource, null), now);
                    }

                    Escalate(violation);
                    continue;
                case HealDecisionKind.HoldBack:
                    violation.HoldBack(decision.Reason);
                    return null;
            }

            if (!policy!.DryRun && await BudgetSpentAsync(settings, now, cancellationToken).ConfigureAwait(false))
            {
                violation.HoldBack(HealReason.BudgetSpent, _budget.PausedUntil);
                return null;
            }

            if (violation.HealerIndex != firstHealer && HoldFor(violation, violation.HealerIndex, settings, now) is { Kind: not ControlHoldKind.None } hold)
            {
                // Escalated to a healer a control holds (a silence of that healer, its approval mode Off).
                violation.HoldBy(hold);
                return null;
            }

            if (rule.Approvals[violation.HealerIndex] == ApprovalMode.Propose && !policy.DryRun)
            {
                var planContext = new HealContext(rule.Name, rule.Signal, instance.Resource, violation.Observed, rule.Limit, rule.Severity,
                    violation.OpenedAt, violation.HealerAttempts + 1, dryRun: true);
                string? plan = null;
                try
                {
                    plan = await OutboundCall.RunAsync(_ => ValueTask.FromResult(healer!.DescribePlan(planContext)), settings.CallTimeout, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // The proposal goes out without a plan: the healer's name and the violation still say what it is.
                }

                if (await _control.TakeApprovalAsync(violation, rule.Heal[violation.HealerIndex], plan, policy.Cooldown, now, cancellationToken).ConfigureAwait(false) is { } waiting)
                {
                    violation.ProposalId = waiting.Id;
                    violation.HoldBack(waiting.State switch
                    {
                        ProposalState.Rejected => $"proposal {waiting.Id} was rejected by {waiting.DecidedBy}; not healed while this violation stays open",
                        ProposalState.Executed => $"proposal {waiting.Id}, approved by {waiting.DecidedBy}, ran on another replica; waiting for its outcome",
                        _ => $"awaiting approval of proposal {waiting.Id} (expires {HealReasons.Format(waiting.ExpiresAt)})",
                    });
                    return null;
                }
            }

            violation.ProposalId = null;
            violation.ClearHoldBack();
            var context = new HealContext(rule.Name, rule.Signal, instance.Resource, violation.Observed, rule.Limit, rule.Severity,
                violation.OpenedAt, violation.HealerAttempts + 1, policy.DryRun)
            {
                MaxTargets = policy.MaxTargets,
            };
            if (first)
            {
                // The tick's wait for its heals is armed before any healer runs, so it measures from the tick, not from
                // whenever the tick gets to wait.
                _inTickWait = new CancellationTokenSource(settings.InTickWait, _time);
            }

            var execution = _executor.Start(violation, healer!, policy, context, now);
            violation.Running = execution;
            return execution;
        }
    }

    private async Task<bool> BudgetSpentAsync(HealingTickSettings settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_budget.IsPaused(now, out var resumed))
        {
            return true;
        }

        if (resumed)
        {
            _diagnostics.HealingResumed();
        }

        if (settings.Budget is not { } budget)
        {
            return false;
        }

        // Counted only when a real heal is due, with every heal started and not yet journaled (this tick's included), so
        // neither a burst within one tick nor heals still running can overrun it. Dry-runs act on nothing and are not counted.
        var since = _budget.CountFrom(now, budget);
        var recorded = await OutboundCall.RunAsync(_journal, token => _journal.CountAllAttemptsAsync(since, token), settings.CallTimeout, _time, cancellationToken).ConfigureAwait(false);
        var count = recorded + _executor.UnrecordedAttempts;
        if (!_budget.WouldExceed(now, count, budget))
        {
            return false;
        }

        _diagnostics.HealingPaused(count, budget.Window, _budget.PausedUntil!.Value, now);
        return true;
    }

    private Task<int> CountAsync(string healer, string resource, string? replica, DateTimeOffset since, HealingTickSettings settings, CancellationToken cancellationToken) =>
        OutboundCall.RunAsync(_journal, token => _journal.CountAttemptsAsync(healer, resource, replica, since, token), settings.CallTimeout, _time, cancellationToken);

    private async Task ApplyAsync(HealExecution execution)
    {
        var violation = execution.Violation;
        if (ReferenceEquals(violation.Running, execution))
        {
            violation.Running = null;
        }

        var outcome = execution.Outcome;
        if (!ReferenceEquals(violation.Instance.Violation, violation))
        {
            // The violation closed (or its rule was removed) while the heal ran.
            if (outcome.Kind == HealOutcomeKind.Healed)
            {
                if (violation.DroppedBecause is { } dropped)
                {
                    await _executor.WriteAsync(execution.Record! with { Outcome = HealOutcomeKind.Skipped, Reason = "not judged: " + dropped, IsVerdict = true }).ConfigureAwait(false);
                }
                else
                {
                    await JudgeHealedAsync(execution, "violation closed", execution.CompletedAt).ConfigureAwait(false);
                    return;
                }
            }

            await _executor.ReleaseAsync(execution).ConfigureAwait(false);
            return;
        }

        var policy = execution.Policy;
        switch (outcome.Kind)
        {
            case HealOutcomeKind.Healed:
                violation.Attempts++;
                violation.HealerAttempts++;
                violation.ConsecutiveSkips = 0;
                violation.State = ViolationState.Healing;
                // From when the healer returned, so a slow heal still gets the whole period to show its effect.
                violation.VerifyDeadline = execution.CompletedAt + policy.VerifyWithin;
                violation.AwaitingVerdict = execution;
                return; // keeps its lease until the verdict
            case HealOutcomeKind.Failed:
                violation.Attempts++;
                violation.HealerAttempts++;
                violation.ConsecutiveFailures++;
                violation.ConsecutiveSkips = 0;
                violation.NextAttemptAt = execution.StartedAt + policy.Backoff(violation.ConsecutiveFailures);
                break;
            case HealOutcomeKind.Skipped when !execution.NotStarted:
                violation.ConsecutiveSkips++;
                violation.NextAttemptAt = execution.StartedAt + policy.Cooldown;
                break;
            default:
                // A plan, or a heal the engine could not start (lease held elsewhere): try again after the cooldown.
                violation.NextAttemptAt = execution.StartedAt + policy.Cooldown;
                break;
        }

        await _executor.ReleaseAsync(execution).ConfigureAwait(false);
    }

    private async Task FailVerificationAsync(ActiveViolation violation, DateTimeOffset now)
    {
        var execution = violation.AwaitingVerdict!;
        violation.AwaitingVerdict = null;
        violation.State = ViolationState.Open;
        violation.ConsecutiveFailures++;
        violation.NextAttemptAt = execution.StartedAt + execution.Policy.Backoff(violation.ConsecutiveFailures);
        var reason = $"the violation did not close within {execution.Policy.VerifyWithin} of the heal";
        await _executor.WriteAsync(execution.Record! with { Outcome = HealOutcomeKind.Failed, Reason = reason, IsVerdict = true }).ConfigureAwait(false);
        _diagnostics.HealVerificationFailed(execution, reason, now);
        await _executor.ReleaseAsync(execution).ConfigureAwait(false);
    }

    private async Task JudgeHealedAsync(HealExecution execution, string reason, DateTimeOffset now)
    {
        // The loop is closed: the heal counts as a success only now, when its violation closed in time.
        await _executor.WriteAsync(execution.Record! with { Outcome = HealOutcomeKind.Healed, Reason = reason, IsVerdict = true }).ConfigureAwait(false);
        _diagnostics.HealVerified(execution, now);
        await _executor.ReleaseAsync(execution).ConfigureAwait(false);
    }

    private static void Escalate(ActiveViolation violation)
    {
        violation.HealerIndex++;
        violation.HealerAttempts = 0;
        violation.ConsecutiveFailures = 0;
        violation.ConsecutiveSkips = 0;
    }
}

/// <summary>What the heal phase of one tick needs from the settings in force.</summary>
internal readonly record struct HealingTickSettings(
    RuleInstance[] Instances, HashSet<string> AllowDestructive, HealBudgetOptions? Budget, TimeSpan CallTimeout,
    bool WarmingUp, DateTimeOffset WarmUpUntil, TimeSpan VerifyGrace, TimeSpan InTickWait);
