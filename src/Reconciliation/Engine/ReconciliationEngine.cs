using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Reconciliation;

/// <summary>
/// The engine behind <see cref="IReconciler"/>, the orchestration of one tick and nothing else: settings → probes →
/// evaluate (the allocation-free hot path) → violations → hand due heals to the executor → report. The heal policy
/// lives in <see cref="HealingController"/> and <see cref="HealPlanner"/>; heals run off the tick in <see cref="HealExecutor"/>.
/// </summary>
internal sealed class ReconciliationEngine : IReconciler, IReconciliationState, IAsyncDisposable, IDisposable
{
    private readonly SignalTable _table;
    private readonly ProbeRunner _probes;
    private readonly HealExecutor _executor;
    private readonly HealingController _healing;
    private readonly ReconciliationDiagnostics _diagnostics;
    private readonly TimeProvider _time;
    private readonly TickScope _tickScope;
    private readonly ReconciliationReloader _reloader;
    private readonly RuleStateKeeper _state;
    private readonly CatchingUpHealJournal _journal;
    private readonly ReconciliationControl _control;
    private readonly SemaphoreSlim _tickGate = new(1, 1);
    private readonly List<HealResult> _heals = [];
    private EngineSettings _settings;
    private ReconciliationReport? _latest;
    private long _tick;
    private SignalSnapshot? _lastSnapshot;
    private long _lastCompletedTicks = -1;
    private long _runningSinceTicks = -1;
    private int _disposed;

    public ReconciliationEngine(
        IEnumerable<IProbe> probes,
        IEnumerable<IHealer> healers,
        IOptions<ReconciliationOptions> options,
        IOptionsFactory<ReconciliationOptions> factory,
        IEnumerable<IOptionsChangeTokenSource<ReconciliationOptions>> changeSources,
        CatchingUpHealJournal journal,
        IHealLease lease,
        IRuleStateStore stateStore,
        TimeProvider timeProvider,
        ReconciliationDiagnostics diagnostics,
        ReconciliationOptionsValidator validator,
        IServiceScopeFactory scopes,
        ReconciliationControl control)
    {
        var probeArray = probes.ToArray();
        _table = new SignalTable(probeArray);
        _time = timeProvider;
        _diagnostics = diagnostics;
        _tickScope = new TickScope(scopes);
        StartedAt = timeProvider.GetUtcNow();
        _settings = EngineSettings.Compile(options.Value, _table, previous: null); // options.Value throws OptionsValidationException when invalid
        _probes = new ProbeRunner(_table, timeProvider, diagnostics);
        _executor = new HealExecutor(lease, journal, timeProvider, diagnostics, scopes) { CallTimeout = _settings.Options.CallTimeout, Replica = _settings.Options.ReplicaId };
        _state = new RuleStateKeeper(stateStore, timeProvider, diagnostics.Logger);
        _journal = journal;
        _control = control;
        _control.Configure(_settings.Options);
        _healing = new HealingController(_executor, journal, new HealerRegistry(healers, _table.Resources.Distinct(StringComparer.Ordinal).ToArray()), diagnostics, timeProvider, control);
        _reloader = new ReconciliationReloader(factory, validator, changeSources, _table, diagnostics.Logger);
        diagnostics.Metrics.Observe(() => ReportMeasurements.Signals(LatestReport), () => ReportMeasurements.OpenViolations(LatestReport));
        diagnostics.Logger.Started(probeArray.Length, _table.Count, _settings.Evaluator.Instances.Length, _settings.Options.Interval);
    }

    /// <inheritdoc />
    public ReconciliationReport? LatestReport => Volatile.Read(ref _latest);

    /// <inheritdoc />
    public ReconciliationOptions CurrentOptions => _settings.Options;

    /// <inheritdoc />
    public DateTimeOffset StartedAt { get; }

    /// <inheritdoc />
    public SignalHistory History { get; } = new();

    /// <inheritdoc />
    public DateTimeOffset? LastTickCompletedAt => FromTicks(Interlocked.Read(ref _lastCompletedTicks));

    /// <inheritdoc />
    public DateTimeOffset? TickRunningSince => FromTicks(Interlocked.Read(ref _runningSinceTicks));

    /// <summary>
    /// Whether the background loop should tick: the pending reload's value when one waits (the loop applies reloads
    /// only by ticking, so a reload that switches <c>Enabled</c> back on must be seen before it is applied).
    /// </summary>
    internal bool LoopEnabled => (_reloader.Pending ?? _settings.Options).Enabled;

    internal SignalTable Table => _table;

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
            Interlocked.Exchange(ref _runningSinceTicks, -1);
            _tickGate.Release();
        }
    }

    /// <summary>
    /// Cancels running heals and waits (within the host's shutdown timeout) until each is journaled and the rule state
    /// is saved, so a restarted replica resumes what this one last knew.
    /// </summary>
    public async Task StopHealsAsync(CancellationToken cancellationToken)
    {
        await _executor.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _state.WhenSavedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ended the wait.
        }
    }

    /// <summary>Completes when every heal started so far has its outcome (for tests of heals that outlive their tick).</summary>
    internal Task WhenHealOutcomesKnownAsync() => _executor.WhenOutcomesKnownAsync();

    /// <summary>Completes when the rule-state save under way (if any) has ended (for tests).</summary>
    internal Task WhenStateSavedAsync() => _state.WhenSavedAsync();

    /// <summary>Completes when the journal's catch-up under way (if any) has ended (for tests).</summary>
    internal Task WhenJournalCaughtUpAsync() => _journal.WhenCaughtUpAsync();

    /// <summary>Completes when the heal of the resource (if one runs) has its outcome (for tests).</summary>
    internal Task WhenHealOutcomeKnownAsync(string resource) => _executor.WhenOutcomeKnownAsync(resource);

    /// <summary>Completes when no heal of the resource runs or holds it (for tests).</summary>
    internal Task WhenResourceFreeAsync(string resource) => _executor.WhenFreeAsync(resource);

    /// <summary>Synchronous disposal (a container disposed with <c>Dispose()</c>): cancels running heals without waiting.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _reloader.Dispose();
        _healing.Dispose();
        _ = _executor.StopAsync(CancellationToken.None);
        _tickGate.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        // Registered under three service types, so the container may dispose it three times.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _reloader.Dispose();
        _healing.Dispose();
        await _executor.DisposeAsync().ConfigureAwait(false);
        await _state.WhenSavedAsync().ConfigureAwait(false); // bounded by the call deadline
        _tickGate.Dispose();
    }

    private async Task<ReconciliationReport> TickAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        Interlocked.Exchange(ref _runningSinceTicks, now.UtcTicks);
        var started = _time.GetTimestamp();
        var tick = ++_tick;
        using var activity = ReconciliationActivitySource.Instance.StartActivity("reconciliation.tick");
        activity?.SetTag("reconciliation.tick", tick);

        var closed = await ApplyReloadAsync(now).ConfigureAwait(false);
        var settings = _settings;
        IReadOnlyList<ProbeFailure> failures;
        try
        {
            failures = await _probes.RunAsync(settings.Options.ProbeTimeout, _tickScope, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _tickScope.EndAsync().ConfigureAwait(false);
        }

        var evaluator = settings.Evaluator;
        if (!_state.Loaded)
        {
            if (await _state.RestoreAsync(evaluator.Instances, settings.Options.ReplicaId, settings.Options.CallTimeout, cancellationToken).ConfigureAwait(false) is { } pausedUntil)
            {
                _healing.RestoreBudgetPause(pausedUntil);
            }

            if (_state.TakeInterrupted() is { } interrupted)
            {
                await _healing.RecordInterruptedAsync(interrupted, settings.Options.ReplicaId, cancellationToken).ConfigureAwait(false);
            }
        }

        // The hot path: readings are in place; compare them with the compiled rules.
        evaluator.Evaluate(_table.Values, now);
        History.Record(_table, evaluator, now);

        // Heals that finished since the last tick are applied first, so a heal and its violation's close meet here.
        await _healing.CollectAsync(_heals).ConfigureAwait(false);
        closed = await CloseAsync(evaluator, now, closed).ConfigureAwait(false);
        Open(evaluator, now);
        await _control.OnTickAsync(now, cancellationToken).ConfigureAwait(false);

        var warmUpUntil = StartedAt + settings.Options.WarmUp;
        try
        {
            // Only an open violation has a heal to plan (every open one is active): a healthy tick skips the planner.
            var due = evaluator.ActiveCount == 0 ? null : await _healing.PlanAsync(new HealingTickSettings(evaluator.Instances, settings.AllowDestructive, settings.Options.HealBudget,
                settings.Options.CallTimeout, now < warmUpUntil || tick <= 1, warmUpUntil, settings.Options.Interval / HealingDefaults.VerifyJitterDivisor,
                settings.Options.Interval / HealingDefaults.InTickHealWaitDivisor),
                now, cancellationToken).ConfigureAwait(false);
            if (due is not null)
            {
                await _healing.WaitBrieflyAsync(due, _heals, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Saved even when the host stops during the wait: app.restart stops it in the very tick its violation opened,
            // and a replica that lost that state would start a fresh episode after its restart.
            _state.SaveIfChanged(evaluator.Instances, evaluator.ActiveCount > 0, _healing.PausedUntil, settings.Options.ReplicaId, settings.Options.CallTimeout);
            _journal.CatchUp(settings.Options.CallTimeout, _time);
        }

        var duration = _time.GetElapsedTime(started);
        _diagnostics.Metrics.RecordTick(duration);
        var report = BuildReport(settings, now, duration, tick, closed, failures);
        Volatile.Write(ref _latest, report);
        Interlocked.Exchange(ref _lastCompletedTicks, (now + duration).UtcTicks); // its start plus its measured duration: one clock read less
        activity?.SetTag("reconciliation.violations", report.Violations.Count);
        return report;
    }

    private async Task<List<Violation>?> CloseAsync(RuleEvaluator evaluator, DateTimeOffset now, List<Violation>? closed)
    {
        foreach (var index in evaluator.Closed.ToArray())
        {
            var instance = evaluator.Instances[index];
            var violation = instance.Violation!;
            instance.Violation = null;
            instance.LastClosedAt = now;
            instance.ResetBreach();
            await _healing.OnClosedAsync(violation, now).ConfigureAwait(false);
            _diagnostics.ViolationClosed(violation, now);
            (closed ??= []).Add(violation.Snapshot(now));
        }

        return closed;
    }

    private void Open(RuleEvaluator evaluator, DateTimeOffset now)
    {
        foreach (var index in evaluator.Opened)
        {
            var instance = evaluator.Instances[index];
            var violation = new ActiveViolation(instance, _table.Values[instance.Slot], now);
            instance.Violation = violation;
            _diagnostics.ViolationOpened(violation, now);
            _control.RecordOpen(instance, now);
        }
    }

    /// <summary>Applies a pending reload at the start of a tick, so a running tick never sees rules change under it.</summary>
    private async Task<List<Violation>?> ApplyReloadAsync(DateTimeOffset now)
    {
        if (await _reloader.ApplyPendingAsync(_settings, _healing, _diagnostics, now).ConfigureAwait(false) is not { } applied)
        {
            return null;
        }

        _settings = applied.Settings;
        _control.Configure(applied.Settings.Options);
        _executor.CallTimeout = applied.Settings.Options.CallTimeout;
        _executor.Replica = applied.Settings.Options.ReplicaId;
        return applied.Dropped;
    }

    private ReconciliationReport BuildReport(EngineSettings settings, DateTimeOffset now, TimeSpan duration, long tick, List<Violation>? closed,
        IReadOnlyList<ProbeFailure> failures)
    {
        var readings = _lastSnapshot = SignalSnapshot.Take(_table, _lastSnapshot);

        // The list is built only when there is something in it: a healthy tick reports the shared empty list.
        var violations = closed;
        if (settings.Evaluator.ActiveCount > 0)
        {
            foreach (var instance in settings.Evaluator.Instances)
            {
                if (instance.Violation is { } open)
                {
                    (violations ??= []).Add(open.Snapshot());
                }
            }
        }

        IReadOnlyList<HealResult> heals = [];
        if (_heals.Count > 0)
        {
            heals = _heals.ToArray();
            _heals.Clear();
        }

        return new ReconciliationReport(now, duration, tick, readings, violations ?? (IReadOnlyList<Violation>)[], heals, failures,
            _healing.PausedUntil is { } until && until > now ? until : null, settings.Options.Interval);
    }

    private static DateTimeOffset? FromTicks(long ticks) => ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}
