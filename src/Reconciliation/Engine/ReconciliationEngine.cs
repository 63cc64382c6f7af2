using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Reconciliation;

/// <summary>
/// The engine behind <see cref="IReconciler"/>: one tick runs the probes concurrently, evaluates the compiled rules
/// over the readings (the allocation-free hot path), opens and closes violations, and runs the heals the policy allows.
/// </summary>
internal sealed class ReconciliationEngine : IReconciler, IDisposable
{
    /// <summary>A verification deadline counts as reached this fraction of an interval early (timer jitter).</summary>
    private const int VerifyJitterDivisor = 10;

    private readonly SignalTable _table;
    private readonly IHealer[] _healers;
    private readonly IHealJournal _journal;
    private readonly IHealLease _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ReconciliationMetrics _metrics;
    private readonly ReconciliationEvents _events;
    private readonly IOptionsFactory<ReconciliationOptions> _factory;
    private readonly ReconciliationOptionsValidator _validator;
    private readonly SemaphoreSlim _tickGate = new(1, 1);
    private readonly Dictionary<string, Task> _runningHeals = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _reloadSubscriptions = [];
    private readonly Lock _reloadGate = new();
    private readonly DateTimeOffset _startedAt;
    private Settings _settings;
    private Settings? _pendingSettings;
    private ReconciliationReport? _latest;
    private DateTimeOffset? _pausedUntil;
    private DateTimeOffset? _budgetSince;
    private long _tick;

    public ReconciliationEngine(
        IEnumerable<IProbe> probes,
        IEnumerable<IHealer> healers,
        IOptions<ReconciliationOptions> options,
        IOptionsFactory<ReconciliationOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<ReconciliationOptions>> changeSources,
        IHealJournal journal,
        IHealLease lease,
        TimeProvider timeProvider,
        ILogger<ReconciliationEngine> logger,
        ReconciliationMetrics metrics,
        ReconciliationEvents events,
        ReconciliationOptionsValidator validator)
    {
        var probeArray = probes.ToArray();
        _healers = healers.ToArray();
        _validator = validator;
        _table = new SignalTable(probeArray);
        _journal = journal;
        _lease = lease;
        _time = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _events = events;
        _factory = factory;
        _startedAt = timeProvider.GetUtcNow();
        _settings = Compile(options.Value, previous: null); // options.Value throws OptionsValidationException when invalid
        validator.EngineValidatesReloads = true;
        metrics.Observe(ObserveSignals, ObserveViolations);

        foreach (var source in changeSources)
        {
            if (string.Equals(source.Name ?? Options.DefaultName, Options.DefaultName, StringComparison.Ordinal))
            {
                _reloadSubscriptions.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }

        Log.Started(logger, probeArray.Length, _table.Count, _settings.Evaluator.Instances.Length, _settings.Options.Interval);
    }

    /// <inheritdoc />
    public ReconciliationReport? LatestReport => Volatile.Read(ref _latest);

    /// <summary>The options in force (the last valid configuration).</summary>
    public ReconciliationOptions CurrentOptions => _settings.Options;

    internal SignalTable Table => _table;

    /// <summary>When the engine was created (the health check's "no report yet" grace starts here).</summary>
    internal DateTimeOffset StartedAt => _startedAt;

    internal RuleEvaluator Evaluator => _settings.Evaluator;

    /// <inheritdoc />
    public async Task<ReconciliationReport> ReconcileOnceAsync(CancellationToken cancellationToken = default)
    {
        await _tickGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await TickAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _tickGate.Release();
        }
    }

    public void Dispose()
    {
        foreach (var subscription in _reloadSubscriptions)
        {
            subscription.Dispose();
        }

        _tickGate.Dispose();
    }

    private async Task<ReconciliationReport> TickAsync(CancellationToken cancellationToken)
    {
        ApplyPendingReload();
        var settings = _settings;
        var tick = ++_tick;
        var started = _time.GetTimestamp();
        var now = _time.GetUtcNow();
        using var activity = ReconciliationActivitySource.Instance.StartActivity("reconciliation.tick");
        activity?.SetTag("reconciliation.tick", tick);

        var failures = await RunProbesAsync(settings.Options.ProbeTimeout, cancellationToken).ConfigureAwait(false);

        // The hot path: readings are in place; compare them with the compiled rules.
        var evaluator = settings.Evaluator;
        evaluator.Evaluate(_table.Values, now);

        var closed = HandleClosed(evaluator, now);
        HandleOpened(evaluator, now);
        List<HealResult>? heals;
        try
        {
            heals = await HealAsync(settings, now, tick, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A durable journal or lease that lives in the very database being healed can fail: skip healing this tick,
            // but still publish the readings, so the health check shows the violation instead of a stuck loop.
            Log.HealPhaseFailed(_logger, e);
            heals = null;
        }

        var duration = _time.GetElapsedTime(started);
        _metrics.RecordTick(duration);
        var report = BuildReport(settings, now, duration, tick, closed, heals, failures);
        Volatile.Write(ref _latest, report);
        if (report.WorstSeverity is not null)
        {
            activity?.SetTag("reconciliation.violations", report.Violations.Count);
        }

        return report;
    }

    private async Task<IReadOnlyList<ProbeFailure>> RunProbesAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = _table.Probes;
        var values = _table.Values;
        for (var i = _table.FirstFailedSlot; i < values.Length; i++)
        {
            values[i] = 0;
        }

        var runs = new Task<string?>[probes.Length];
        for (var i = 0; i < probes.Length; i++)
        {
            runs[i] = RunProbeAsync(probes[i], timeout, cancellationToken);
        }

        await Task.WhenAll(runs).ConfigureAwait(false);

        List<ProbeFailure>? failures = null;
        for (var i = 0; i < probes.Length; i++)
        {
            var slot = probes[i];
            var reason = runs[i].Result;
            if (reason is null)
            {
                if (slot.WasFailing)
                {
                    slot.WasFailing = false;
                    Log.ProbeRecovered(_logger, slot.TypeName, slot.Probe.Resource);
                    Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.ProbeRecovered, Timestamp = _time.GetUtcNow(), Resource = slot.Probe.Resource, Reason = slot.TypeName });
                }

                continue;
            }

            values[slot.FailedSlot] = 1;
            (failures ??= []).Add(new ProbeFailure(slot.Probe.Resource, slot.TypeName, reason));
            if (!slot.WasFailing)
            {
                // One line per state change, not one per failing tick.
                slot.WasFailing = true;
                Log.ProbeFailed(_logger, slot.TypeName, slot.Probe.Resource, reason);
                Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.ProbeFailed, Timestamp = _time.GetUtcNow(), Resource = slot.Probe.Resource, Reason = reason });
            }
        }

        return failures ?? (IReadOnlyList<ProbeFailure>)[];
    }

    /// <summary>Runs one probe under its timeout. Returns null on success, or the scrubbed reason it failed.</summary>
    private async Task<string?> RunProbeAsync(ProbeSlot slot, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        if (slot.Running is { IsCompleted: false })
        {
            // A probe that hung past its timeout is not started twice: it may hold the only connection it has.
            slot.ClearValues();
            _metrics.RecordProbe(slot.Probe.Resource, slot.TypeName, TimeSpan.Zero, failed: true);
            return "still running since an earlier tick (hung); not started again";
        }

        slot.Writer.Reset();

        // The timeout timer exists before the probe is called, and the wait below ends when it fires even if the
        // probe ignores its token. (A timer created after the call could miss a clock that moved meanwhile.)
        using var timeoutSource = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        Task run;
        try
        {
            run = slot.Probe.ProbeAsync(slot.Writer, linked.Token).AsTask();
        }
        catch (Exception e)
        {
            run = Task.FromException(e);
        }

        slot.Running = run;
        string? failure = null;
        try
        {
            await run.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            failure = timeoutSource.IsCancellationRequested ? $"timed out after {timeout}" : "cancelled";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failure = SecretScrubber.Describe(e);
        }

        if (failure is null)
        {
            slot.Commit();
        }
        else
        {
            // Whatever the probe wrote before failing is not a reading. If it is still running, its writer is closed
            // and never read again, so a late write cannot land in this tick or a later one.
            slot.ClearValues();
            if (!run.IsCompleted)
            {
                slot.AbandonWriter();
                _ = run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }

        _metrics.RecordProbe(slot.Probe.Resource, slot.TypeName, _time.GetElapsedTime(started), failure is not null);
        return failure;
    }

    private List<Violation>? HandleClosed(RuleEvaluator evaluator, DateTimeOffset now)
    {
        if (evaluator.ClosedCount == 0)
        {
            return null;
        }

        var closed = new List<Violation>(evaluator.ClosedCount);
        foreach (var index in evaluator.Closed)
        {
            var instance = evaluator.Instances[index];
            var violation = instance.Violation!;
            instance.Violation = null;
            instance.ResetBreach();
            if (violation.PendingVerification is { } pending)
            {
                // The loop is closed: the heal counts as a success only now, when its violation closed in time.
                violation.PendingVerification = null;
                _ = RecordAsync(pending with { Outcome = HealOutcomeKind.Healed, Reason = "violation closed", IsVerdict = true });
                _metrics.RecordHeal(pending.Healer, HealOutcomeKind.Healed);
                Log.HealSucceeded(_logger, pending.Healer, instance.Resource, instance.Rule.Name);
                Publish(ViolationEvent(ReconciliationEventKind.HealSucceeded, violation, now) with { Healer = pending.Healer, Attempt = violation.HealerAttempts });
            }

            Log.ViolationClosed(_logger, instance.Rule.Name, instance.Resource, instance.Rule.Signal, violation.Observed, now - violation.OpenedAt);
            Publish(ViolationEvent(ReconciliationEventKind.ViolationClosed, violation, now));
            closed.Add(violation.Snapshot(now));
        }

        return closed;
    }

    private void HandleOpened(RuleEvaluator evaluator, DateTimeOffset now)
    {
        foreach (var index in evaluator.Opened)
        {
            var instance = evaluator.Instances[index];
            var value = _table.Values[instance.Slot];
            var violation = new ActiveViolation(instance, value, now) { NextAttemptAt = now };
            instance.Violation = violation;
            Log.ViolationOpened(_logger, instance.Rule.Name, instance.Resource, instance.Rule.Signal, value, instance.Rule.Limit, instance.Rule.Severity);
            Publish(ViolationEvent(ReconciliationEventKind.ViolationOpened, violation, now));
        }
    }

    private async Task<List<HealResult>?> HealAsync(Settings settings, DateTimeOffset now, long tick, CancellationToken cancellationToken)
    {
        List<(ActiveViolation Violation, IHealer Healer, HealPolicy Policy)>? due = null;
        HashSet<string>? resourcesThisTick = null;
        var healsDue = 0;
        var warmingUp = now - _startedAt < settings.Options.WarmUp || tick <= 1;

        foreach (var instance in settings.Evaluator.Instances)
        {
            var violation = instance.Violation;
            if (violation is null || violation.State == ViolationState.Exhausted)
            {
                continue;
            }

            if (violation.State == ViolationState.Healing)
            {
                // The verdict falls on the first tick at the deadline; a tick that fires a hair early (timer jitter)
                // counts as that tick, or the default VerifyWithin of one interval would really wait two.
                if (now < violation.VerifyDeadline - settings.Options.Interval / VerifyJitterDivisor)
                {
                    violation.HeldBack = "verifying the last heal";
                    continue;
                }

                await FailVerificationAsync(violation, now, cancellationToken).ConfigureAwait(false);
            }

            if (instance.Rule.Heal.Length == 0)
            {
                violation.HeldBack = "the rule has no healers (report only)";
                continue;
            }

            if (warmingUp)
            {
                violation.HeldBack = $"warm-up: no heals before {_startedAt + settings.Options.WarmUp:O} and before a first full tick";
                continue;
            }

            if (now < violation.NextAttemptAt)
            {
                violation.HeldBack = $"cooldown/backoff until {violation.NextAttemptAt:O}";
                continue;
            }

            var choice = await ChooseHealerAsync(settings, violation, now, cancellationToken).ConfigureAwait(false);
            if (choice is null)
            {
                continue;
            }

            resourcesThisTick ??= new HashSet<string>(StringComparer.Ordinal);
            lock (_runningHeals)
            {
                if (!resourcesThisTick.Add(instance.Resource)
                    || (_runningHeals.TryGetValue(instance.Resource, out var running) && !running.IsCompleted))
                {
                    // Never two heals of the same resource at once.
                    violation.HeldBack = $"another heal of {instance.Resource} is running";
                    continue;
                }
            }

            // The budget is judged only when a real heal is due, counting the ones already due this tick, so a tick
            // with many violations cannot overrun it. Dry-runs act on nothing and are not counted.
            if (!choice.Value.Policy.DryRun)
            {
                if (await IsBudgetPausedAsync(settings, now, healsDue, cancellationToken).ConfigureAwait(false))
                {
                    violation.HeldBack = $"heal budget spent: healing paused until {_pausedUntil:O}";
                    continue;
                }

                healsDue++;
            }

            violation.HeldBack = null;
            (due ??= []).Add((violation, choice.Value.Healer, choice.Value.Policy));
        }

        if (due is null)
        {
            return null;
        }

        var runs = new Task<HealResult>[due.Count];
        for (var i = 0; i < due.Count; i++)
        {
            var (violation, healer, policy) = due[i];
            runs[i] = RunHealAsync(violation, healer, policy, now, cancellationToken);
        }

        await Task.WhenAll(runs).ConfigureAwait(false);
        var results = new List<HealResult>(runs.Length);
        foreach (var run in runs)
        {
            results.Add(run.Result);
        }

        return results;
    }

    /// <summary>Picks the healer to run now, escalating past used-up or unusable ones; null when none runs this tick.</summary>
    private async Task<(IHealer Healer, HealPolicy Policy)?> ChooseHealerAsync(Settings settings, ActiveViolation violation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var instance = violation.Instance;
        var rule = instance.Rule;
        while (violation.HealerIndex < rule.Heal.Length)
        {
            var name = rule.Heal[violation.HealerIndex];
            var policy = rule.Policies[violation.HealerIndex];
            var healer = FindHealer(name, instance.Resource);
            string? skip = null;
            if (healer is null)
            {
                skip = $"no registered healer '{name}' applies to resource '{instance.Resource}'";
            }
            else if (healer.IsDestructive && !policy.DryRun && !settings.AllowDestructive.Contains(name))
            {
                skip = $"'{name}' is destructive and not opted in (add it to AllowDestructive)";
            }

            if (skip is not null)
            {
                // Never runs; say so once, then escalate to the next healer.
                RecordSkip(violation, name, skip, now);
                Escalate(violation);
                continue;
            }

            var attempts = await _journal.CountAttemptsAsync(name, instance.Resource, now - policy.Window, cancellationToken).ConfigureAwait(false);
            // Only real attempts count: a dry-run plan is not an attempt, so switching dry-run off never finds a
            // violation already escalated or exhausted by plans that were only logged.
            var usedUp = attempts >= policy.MaxAttempts;
            if (usedUp)
            {
                Escalate(violation);
                continue;
            }

            // "Since" is inclusive: an attempt exactly one cooldown ago has served it (as NextAttemptAt does within a violation).
            if (policy.Cooldown > TimeSpan.Zero && violation.HealerAttempts == 0
                && await _journal.CountAttemptsAsync(name, instance.Resource, now - policy.Cooldown + TimeSpan.FromTicks(1), cancellationToken).ConfigureAwait(false) > 0)
            {
                // A heal of the same resource by this healer ran recently (for an earlier violation): respect its cooldown.
                violation.HeldBack = $"{name} is cooling down on {instance.Resource}";
                return null;
            }

            return (healer!, policy);
        }

        if (violation.State != ViolationState.Exhausted)
        {
            violation.State = ViolationState.Exhausted;
            violation.HeldBack = "every healer's attempts are used up";
            Log.ViolationExhausted(_logger, rule.Name, instance.Resource, rule.Signal);
            Publish(ViolationEvent(ReconciliationEventKind.ViolationExhausted, violation, now));
        }

        return null;
    }

    private static void Escalate(ActiveViolation violation)
    {
        violation.HealerIndex++;
        violation.HealerAttempts = 0;
        violation.ConsecutiveFailures = 0;
        violation.SkipLogged = false;
    }

    private void RecordSkip(ActiveViolation violation, string healer, string reason, DateTimeOffset now)
    {
        var instance = violation.Instance;
        Log.HealSkipped(_logger, healer, instance.Resource, instance.Rule.Name, reason);
        _metrics.RecordHeal(healer, HealOutcomeKind.Skipped);
        Publish(ViolationEvent(ReconciliationEventKind.HealSkipped, violation, now) with { Healer = healer, Reason = reason });
    }

    private async Task<HealResult> RunHealAsync(ActiveViolation violation, IHealer healer, HealPolicy policy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var instance = violation.Instance;
        var rule = instance.Rule;
        var attempt = violation.HealerAttempts + 1;
        var context = new HealContext(rule.Name, rule.Signal, instance.Resource, violation.Observed, rule.Limit, rule.Severity,
            violation.OpenedAt, attempt, policy.DryRun)
        {
            MaxTargets = policy.MaxTargets,
        };
        var started = _time.GetTimestamp();
        HealOutcome outcome;

        if (policy.DryRun)
        {
            // Dry-run never calls the act method: it logs and reports the plan.
            var plan = DescribePlan(healer, context);
            Log.HealDryRun(_logger, plan, rule.Name, healer.Name, attempt);
            outcome = HealOutcome.DryRun(plan);
        }
        else
        {
            IAsyncDisposable? lease = null;
            if (healer.Scope == HealScope.SharedResource)
            {
                lease = await _lease.TryAcquireAsync(instance.Resource, policy.Timeout + policy.VerifyWithin, cancellationToken).ConfigureAwait(false);
                if (lease is null)
                {
                    Log.LeaseHeld(_logger, instance.Resource, healer.Name);
                    outcome = HealOutcome.Skipped("the shared-resource lease is held by another replica");
                    return Finish(violation, healer, policy, context, outcome, now, started);
                }
            }

            await using (lease)
            {
                Log.HealStarted(_logger, rule.Name, instance.Resource, healer.Name, attempt);
                Publish(ViolationEvent(ReconciliationEventKind.HealStarted, violation, now) with { Healer = healer.Name, Attempt = attempt });
                using var activity = ReconciliationActivitySource.Instance.StartActivity("reconciliation.heal");
                activity?.SetTag("reconciliation.healer", healer.Name);
                activity?.SetTag("reconciliation.resource", instance.Resource);
                activity?.SetTag("reconciliation.rule", rule.Name);
                outcome = await InvokeHealerAsync(healer, context, policy.Timeout, instance.Resource, cancellationToken).ConfigureAwait(false);
                if (outcome.Kind == HealOutcomeKind.Failed)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, outcome.Reason);
                }

                activity?.SetTag("reconciliation.outcome", outcome.Kind.ToString());
            }
        }

        return Finish(violation, healer, policy, context, outcome, now, started);
    }

    private async Task<HealOutcome> InvokeHealerAsync(IHealer healer, HealContext context, TimeSpan timeout, string resource, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        Task<HealOutcome> run;
        try
        {
            run = healer.HealAsync(context, linked.Token).AsTask();
        }
        catch (Exception e)
        {
            return HealOutcome.Failed(SecretScrubber.Describe(e));
        }

        lock (_runningHeals)
        {
            _runningHeals[resource] = run;
        }

        try
        {
            // Ends at the timeout even when the healer ignores its token (the timer was armed before the call).
            return await run.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            if (!run.IsCompleted)
            {
                _ = run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            return HealOutcome.Failed(timeoutSource.IsCancellationRequested ? $"timed out after {timeout}" : "cancelled");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealOutcome.Failed(SecretScrubber.Describe(e));
        }
    }

    private HealResult Finish(ActiveViolation violation, IHealer healer, HealPolicy policy, HealContext context, HealOutcome outcome, DateTimeOffset now, long started)
    {
        var instance = violation.Instance;
        var reason = outcome.Reason is null ? null : SecretScrubber.Scrub(outcome.Reason);
        outcome = outcome.Kind switch
        {
            HealOutcomeKind.Healed => HealOutcome.Healed(reason),
            HealOutcomeKind.Failed => HealOutcome.Failed(reason ?? "failed"),
            HealOutcomeKind.Skipped => HealOutcome.Skipped(reason ?? "skipped"),
            _ => HealOutcome.DryRun(reason ?? string.Empty),
        };
        var record = new HealRecord(healer.Name, instance.Resource, instance.Rule.Name, now, outcome.Kind, reason);
        _ = RecordAsync(record);
        if (outcome.Kind != HealOutcomeKind.Healed)
        {
            // A carried-out heal is counted once, by its verdict: healed when its violation closes in time, else failed.
            _metrics.RecordHeal(healer.Name, outcome.Kind);
        }

        switch (outcome.Kind)
        {
            case HealOutcomeKind.Healed:
                violation.Attempts++;
                violation.HealerAttempts++;
                violation.State = ViolationState.Healing;
                // From when the healer returned, so a slow heal still gets the whole period to show its effect.
                violation.VerifyDeadline = _time.GetUtcNow() + policy.VerifyWithin;
                violation.PendingVerification = record;
                break;
            case HealOutcomeKind.Failed:
                violation.Attempts++;
                violation.HealerAttempts++;
                violation.ConsecutiveFailures++;
                violation.NextAttemptAt = now + policy.Backoff(violation.ConsecutiveFailures);
                Log.HealFailed(_logger, healer.Name, instance.Resource, instance.Rule.Name, context.Attempt, reason);
                Publish(ViolationEvent(ReconciliationEventKind.HealFailed, violation, now) with { Healer = healer.Name, Attempt = context.Attempt, Reason = reason });
                break;
            case HealOutcomeKind.DryRun:
                violation.NextAttemptAt = now + policy.Cooldown;
                Publish(ViolationEvent(ReconciliationEventKind.HealSkipped, violation, now) with { Healer = healer.Name, Attempt = context.Attempt, Reason = "dry run: would " + reason });
                break;
            default:
                violation.NextAttemptAt = now + policy.Cooldown;
                Log.HealSkipped(_logger, healer.Name, instance.Resource, instance.Rule.Name, reason);
                Publish(ViolationEvent(ReconciliationEventKind.HealSkipped, violation, now) with { Healer = healer.Name, Attempt = context.Attempt, Reason = reason });
                break;
        }

        return new HealResult(instance.Rule.Name, instance.Resource, healer.Name, context.Attempt, outcome, _time.GetElapsedTime(started));
    }

    private async Task FailVerificationAsync(ActiveViolation violation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var pending = violation.PendingVerification!;
        var instance = violation.Instance;
        violation.PendingVerification = null;
        violation.State = ViolationState.Open;
        violation.ConsecutiveFailures++;
        var policies = instance.Rule.Policies;
        string reason;
        if (policies.Length == 0)
        {
            // A reload removed the rule's healers while the heal was being verified: nothing left to back off from.
            reason = "the violation did not close after the heal";
        }
        else
        {
            var policy = policies[Math.Min(violation.HealerIndex, policies.Length - 1)];
            violation.NextAttemptAt = pending.StartedAt + policy.Backoff(violation.ConsecutiveFailures);
            reason = $"the violation did not close within {policy.VerifyWithin} of the heal";
        }

        await RecordAsync(pending with { Outcome = HealOutcomeKind.Failed, Reason = reason, IsVerdict = true }, cancellationToken).ConfigureAwait(false);
        _metrics.RecordHeal(pending.Healer, HealOutcomeKind.Failed);
        Log.HealFailed(_logger, pending.Healer, instance.Resource, instance.Rule.Name, violation.HealerAttempts, reason);
        Publish(ViolationEvent(ReconciliationEventKind.HealFailed, violation, now) with { Healer = pending.Healer, Attempt = violation.HealerAttempts, Reason = reason });
    }

    private async Task<bool> IsBudgetPausedAsync(Settings settings, DateTimeOffset now, int dueThisTick, CancellationToken cancellationToken)
    {
        if (_pausedUntil is { } until)
        {
            if (now < until)
            {
                return true;
            }

            // After a pause the budget starts afresh (like a circuit breaker closing), or with a Window longer than
            // the Pause the heals from before the pause would pause healing again at once.
            _pausedUntil = null;
            _budgetSince = until;
            Log.HealingResumed(_logger);
        }

        if (settings.Options.HealBudget is not { } budget)
        {
            return false;
        }

        var since = now - budget.Window;
        if (_budgetSince is { } resumed && resumed > since)
        {
            since = resumed;
        }

        var count = await _journal.CountAllAttemptsAsync(since, cancellationToken).ConfigureAwait(false) + dueThisTick;
        if (count < budget.MaxHeals)
        {
            return false;
        }

        // One more heal would make more than MaxHeals within the window: something keeps breaking and healing does
        // not fix it. Stop and say so.
        _pausedUntil = now + budget.Pause;
        Log.HealingPaused(_logger, count, budget.Window, _pausedUntil.Value);
        Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.HealingPaused, Timestamp = now, Reason = $"{count} heals within {budget.Window}; paused until {_pausedUntil:O}" });
        return true;
    }

    private IHealer? FindHealer(string name, string resource)
    {
        foreach (var healer in _healers)
        {
            if (string.Equals(healer.Name, name, StringComparison.Ordinal) && healer.AppliesTo(resource))
            {
                return healer;
            }
        }

        return null;
    }

    private static string DescribePlan(IHealer healer, HealContext context)
    {
        try
        {
            return SecretScrubber.Scrub(healer.DescribePlan(context));
        }
        catch (Exception e)
        {
            return $"run {healer.Name} on {context.Resource} (its plan could not be described: {SecretScrubber.Describe(e)})";
        }
    }

    private async Task RecordAsync(HealRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            await _journal.RecordAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.TickFailed(_logger, e);
        }
    }

    private static ReconciliationEvent ViolationEvent(ReconciliationEventKind kind, ActiveViolation violation, DateTimeOffset now) => new()
    {
        Kind = kind,
        Timestamp = now,
        Rule = violation.Instance.Rule.Name,
        Signal = violation.Instance.Rule.Signal,
        Resource = violation.Instance.Resource,
        Observed = violation.Observed,
    };

    private void Publish(ReconciliationEvent e) => _events.Publish(e);

    private ReconciliationReport BuildReport(Settings settings, DateTimeOffset now, TimeSpan duration, long tick, List<Violation>? closed,
        List<HealResult>? heals, IReadOnlyList<ProbeFailure> failures)
    {
        var readings = new SignalReading[_table.Count];
        for (var i = 0; i < readings.Length; i++)
        {
            var value = _table.Values[i];
            readings[i] = new SignalReading(_table.Names[i], _table.Resources[i], _table.Units[i], double.IsNaN(value) ? null : value);
        }

        var violations = closed ?? [];
        foreach (var instance in settings.Evaluator.Instances)
        {
            if (instance.Violation is { } open)
            {
                violations.Add(open.Snapshot());
            }
        }

        return new ReconciliationReport(now, duration, tick, readings, violations, heals ?? (IReadOnlyList<HealResult>)[], failures,
            _pausedUntil is { } until && until > now ? until : null, settings.Options.Interval);
    }

    private IEnumerable<Measurement<double>> ObserveSignals()
    {
        var report = LatestReport;
        if (report is null)
        {
            yield break;
        }

        foreach (var reading in report.Signals)
        {
            if (reading.Value is double value)
            {
                yield return new Measurement<double>(value, new KeyValuePair<string, object?>("signal", reading.Signal), new KeyValuePair<string, object?>("resource", reading.Resource));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveViolations()
    {
        var report = LatestReport;
        if (report is null)
        {
            yield break;
        }

        foreach (var violation in report.Violations)
        {
            if (violation.State != ViolationState.Closed)
            {
                yield return new Measurement<long>(1,
                    new KeyValuePair<string, object?>("rule", violation.Rule),
                    new KeyValuePair<string, object?>("resource", violation.Resource),
                    new KeyValuePair<string, object?>("severity", violation.Severity.ToString()));
            }
        }
    }

    private void Reload()
    {
        ReconciliationOptions candidate;
        try
        {
            candidate = _factory.Create(Options.DefaultName);
        }
        catch (OptionsValidationException e)
        {
            Log.ReloadRejected(_logger, string.Join(" ", e.Failures));
            return;
        }
        catch (Exception e)
        {
            // A value that does not even bind (e.g. "abc" for a TimeSpan; the binder names the key in its message), or a
            // Configure delegate that threw: nothing may escape into IConfigurationRoot.Reload() of the host.
            Log.ReloadRejected(_logger, SecretScrubber.Scrub(e.Message));
            return;
        }

        try
        {
            var errors = _validator.Collect(candidate);
            if (errors.Count > 0)
            {
                Log.ReloadRejected(_logger, string.Join(" ", errors));
                return;
            }

            var compiled = Compile(candidate, previous: null);
            lock (_reloadGate)
            {
                // Applied at the start of the next tick, so a running tick never sees rules change under it.
                _pendingSettings = compiled;
            }
        }
        catch (Exception e)
        {
            Log.ReloadRejected(_logger, SecretScrubber.Scrub(e.Message));
        }
    }

    private void ApplyPendingReload()
    {
        Settings? pending;
        lock (_reloadGate)
        {
            pending = _pendingSettings;
            _pendingSettings = null;
        }

        if (pending is null)
        {
            return;
        }

        // Rebuild instances against the live ones so open violations and breach timers carry over.
        var instances = RuleEvaluator.Build(pending.Rules, _table, _settings.Evaluator.Instances);
        _settings = new Settings(pending.Options, pending.Rules, new RuleEvaluator(instances));
        Log.Reloaded(_logger, instances.Length);
    }

    private Settings Compile(ReconciliationOptions options, RuleInstance[]? previous)
    {
        var rules = new List<CompiledRule>();
        foreach (var (name, rule) in options.Rules)
        {
            if (rule.Enabled)
            {
                rules.Add(new CompiledRule(name, rule, options));
            }
        }

        var instances = RuleEvaluator.Build(rules, _table, previous);
        return new Settings(options, rules, new RuleEvaluator(instances));
    }

    private sealed class Settings
    {
        public Settings(ReconciliationOptions options, List<CompiledRule> rules, RuleEvaluator evaluator)
        {
            Options = options;
            Rules = rules;
            Evaluator = evaluator;
            AllowDestructive = new HashSet<string>(options.AllowDestructive, StringComparer.Ordinal);
        }

        public ReconciliationOptions Options { get; }

        public List<CompiledRule> Rules { get; }

        public RuleEvaluator Evaluator { get; }

        public HashSet<string> AllowDestructive { get; }
    }
}
