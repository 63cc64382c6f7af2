using System.Threading.Tasks.Sources;

namespace Reconciliation;

/// <summary>
/// Runs every probe of a tick concurrently, each isolated on the thread pool under its timeout (a probe that blocks
/// synchronously before its first await costs only its own reading), and commits a probe's readings only when it
/// finished in time. A probe that hung past its timeout is not started again while it still runs.
/// </summary>
/// <remarks>
/// Each probe slot has one <see cref="ProbeRun"/>, a work item reused every tick, and the runner is itself the awaited
/// source of the tick's result (ticks never overlap), so a healthy tick allocates nothing here. The tick's thread waits
/// a few spins for the probes before it yields: a probe that completes at once (in memory, or from a cache) is then
/// read without the tick going asynchronous; anything slower is awaited as usual.
/// </remarks>
internal sealed class ProbeRunner : IValueTaskSource<IReadOnlyList<ProbeFailure>>
{
    // About ten microseconds of spinning (SpinWait's own growth, no sleeping) before the tick yields.
    private const int SpinsBeforeYielding = 12;

    private readonly SignalTable _table;
    private readonly TimeProvider _time;
    private readonly ReconciliationDiagnostics _diagnostics;
    private readonly ProbeRun[] _runs;
    private readonly CancellationTokenSource?[] _timeouts;
    private ManualResetValueTaskSourceCore<IReadOnlyList<ProbeFailure>> _core;
    private CancellationToken _cancellationToken;
    private CancellationTokenRegistration _callerRegistration;
    private int _callerCancelled;

    // Runs not yet settled, plus one held by RunAsync itself until it has decided between returning and yielding.
    private int _unsettled;

    public ProbeRunner(SignalTable table, TimeProvider time, ReconciliationDiagnostics diagnostics)
    {
        _table = table;
        _time = time;
        _diagnostics = diagnostics;
        _runs = new ProbeRun[table.Probes.Length];
        for (var i = 0; i < _runs.Length; i++)
        {
            _runs[i] = new ProbeRun(table.Probes[i], this, time);
        }

        _timeouts = new CancellationTokenSource?[table.Probes.Length];
        _core.RunContinuationsAsynchronously = true; // never run the rest of a tick on a timer's or a probe's thread
    }

    /// <summary>Runs the tick's probes; completes when each has settled (ended, timed out, or been cancelled).</summary>
    public ValueTask<IReadOnlyList<ProbeFailure>> RunAsync(TimeSpan timeout, TickScope scope, CancellationToken cancellationToken)
    {
        var values = _table.Values;
        for (var i = _table.FirstFailedSlot; i < values.Length; i++)
        {
            values[i] = 0;
        }

        cancellationToken.ThrowIfCancellationRequested();
        _core.Reset();
        _cancellationToken = cancellationToken;
        _callerCancelled = 0;
        Volatile.Write(ref _unsettled, _runs.Length + 1);
        // Probes on the thread pool are queued first, so they run while the inline ones are called on this thread.
        StartRuns(inline: false, timeout, scope);
        StartRuns(inline: true, timeout, scope);

        // One registration per tick on the caller's token (its nodes are reused by the token's source), not a linked
        // source per probe: the loop's token can always be cancelled, so that would allocate on every tick.
        if (cancellationToken.CanBeCanceled)
        {
            _callerRegistration = cancellationToken.UnsafeRegister(static state => ((ProbeRunner)state!).CancelRuns(), this);
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _unsettled) > 1 && spinner.Count < SpinsBeforeYielding)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        if (Interlocked.Decrement(ref _unsettled) == 0)
        {
            return new ValueTask<IReadOnlyList<ProbeFailure>>(Collect());
        }

        return new ValueTask<IReadOnlyList<ProbeFailure>>(this, _core.Version);
    }

    private void StartRuns(bool inline, TimeSpan timeout, TickScope scope)
    {
        var runs = _runs;
        for (var i = 0; i < runs.Length; i++)
        {
            var run = runs[i];
            if (run.Inline != inline)
            {
                continue;
            }

            if (run.IsBusy)
            {
                // A probe that hung past its timeout is not started twice: it may hold the only connection it has.
                run.SkipHung();
                Settled(run, TimeSpan.Zero);
                continue;
            }

            // An inline probe's timer is armed only if its call goes asynchronous (most never do: no timer per tick).
            run.Start(ArmTimeout(i, inline ? null : timeout), timeout, scope);
        }
    }

    /// <summary>The caller cancelled the tick (read by the runs to say "cancelled", not "timed out").</summary>
    internal bool CallerCancelled => Volatile.Read(ref _callerCancelled) != 0;

    /// <summary>The caller's token fired: every run's token fires with it (a run that settled already is not affected).</summary>
    private void CancelRuns()
    {
        Volatile.Write(ref _callerCancelled, 1);
        foreach (var source in _timeouts)
        {
            source?.Cancel();
        }
    }

    /// <summary>An inline probe's call took too long: it runs on the thread pool from the next tick on (said once).</summary>
    internal void InlineProbeTooSlow(ProbeRun run, TimeSpan took) => _diagnostics.InlineProbeTooSlow(run.Slot, took);

    /// <summary>One run settled (called once per run per tick); the last one completes the tick's wait.</summary>
    internal void Settled(ProbeRun run, TimeSpan elapsed)
    {
        _diagnostics.Metrics.RecordProbe(run.Slot.Probe.Resource, run.Slot.TypeName, elapsed, run.Failure is not null);
        if (Interlocked.Decrement(ref _unsettled) != 0)
        {
            return;
        }

        // RunAsync yielded: complete the awaited source.
        try
        {
            _core.SetResult(Collect());
        }
        catch (Exception e)
        {
            _core.SetException(e);
        }
    }

    IReadOnlyList<ProbeFailure> IValueTaskSource<IReadOnlyList<ProbeFailure>>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<IReadOnlyList<ProbeFailure>>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<IReadOnlyList<ProbeFailure>>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);

    /// <summary>Every run has settled: the failures of the tick. A run cut short by the caller's cancellation throws it.</summary>
    private IReadOnlyList<ProbeFailure> Collect()
    {
        // Every run has settled, so the caller's token has nothing left to cancel. Dispose waits for a callback running
        // on another thread, so it cannot cancel the next tick's sources (it returns at once inside the callback itself).
        _callerRegistration.Dispose();
        _callerRegistration = default;
        if (_cancellationToken.IsCancellationRequested)
        {
            foreach (var run in _runs)
            {
                if (run.Cancelled)
                {
                    throw new OperationCanceledException(_cancellationToken);
                }
            }
        }

        var values = _table.Values;
        List<ProbeFailure>? failures = null;
        foreach (var run in _runs)
        {
            var slot = run.Slot;
            var reason = run.Failure;
            if (reason is null)
            {
                if (slot.WasFailing)
                {
                    slot.WasFailing = false;
                    _diagnostics.ProbeRecovered(slot);
                }

                continue;
            }

            values[slot.FailedSlot] = 1;
            (failures ??= []).Add(new ProbeFailure(slot.Probe.Resource, slot.TypeName, reason));
            if (!slot.WasFailing)
            {
                // One line per state change, not one per failing tick.
                slot.WasFailing = true;
                _diagnostics.ProbeFailed(slot, reason);
            }
        }

        return failures is null ? Array.Empty<ProbeFailure>() : failures;
    }

    /// <summary>
    /// The probe's timeout, armed before the probe is called (unless <paramref name="timeout"/> is null: then the run arms
    /// it itself when needed). A source whose timer did not fire is reset and reused on the next tick (no allocation); one
    /// that fired (or whose probe may still hold its token) is replaced.
    /// </summary>
    private CancellationTokenSource ArmTimeout(int probe, TimeSpan? timeout)
    {
        var source = _timeouts[probe];
        if (source is null || !source.TryReset())
        {
            source = _timeouts[probe] = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        }

        if (timeout is { } after)
        {
            source.CancelAfter(after);
        }

        return source;
    }
}
