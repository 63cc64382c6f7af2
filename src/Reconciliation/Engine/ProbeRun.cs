using System.Runtime.CompilerServices;

namespace Reconciliation;

/// <summary>
/// One probe slot's run, reused every tick: a thread-pool work item that calls the probe off the tick's thread (so a
/// probe that blocks synchronously before its first await costs only its own reading), and settles exactly once per
/// tick, by whichever comes first: the probe's end (its readings are committed, or its failure recorded) or its token
/// (the timeout or the caller's cancellation: the wait ends even when the probe ignores its token or blocks its
/// thread, and a late end is then discarded). No allocation on a healthy tick after the first.
/// </summary>
/// <remarks>
/// A probe declared <see cref="ProbeExecution.Inline"/> is called on the tick's thread instead (no hop), and its call is
/// timed: one that takes longer than <see cref="ProbeDefaults.InlineCallLimit"/> runs on the thread pool from the next tick on.
/// </remarks>
internal sealed class ProbeRun : IThreadPoolWorkItem
{
    private const int Pending = 0;
    private const int Settled = 1;

    private readonly ProbeSlot _slot;
    private readonly ProbeRunner _runner;
    private readonly TimeProvider _time;
    private readonly Action _onProbeAwaited;
    private ExecutionContext? _context;
    private TickScope? _scope;
    private CancellationToken _token;
    private CancellationTokenSource? _timeout;
    private CancellationTokenRegistration _registration;
    private int _registered; // 1 once _registration is set this tick (an inline run registers only if it goes asynchronous)
    private ValueTask _awaited;
    private TimeSpan _timeoutValue;
    private long _started;
    private TimeSpan _elapsed;
    private int _settled;

    // 1 from the moment the probe is queued until its call has really ended (it may outlive its tick when it hung).
    private int _busy;

    public ProbeRun(ProbeSlot slot, ProbeRunner runner, TimeProvider time)
    {
        _slot = slot;
        _runner = runner;
        _time = time;
        _onProbeAwaited = OnProbeAwaited;
        Inline = slot.Probe.Execution == ProbeExecution.Inline;
    }

    public ProbeSlot Slot => _slot;

    /// <summary>Called on the tick's thread (declared <see cref="ProbeExecution.Inline"/> and never too slow so far).</summary>
    public bool Inline { get; private set; }

    /// <summary>The probe's call from an earlier tick has not ended (it hung past its timeout).</summary>
    public bool IsBusy => Volatile.Read(ref _busy) != 0;

    /// <summary>The tick's outcome for this probe: null when its readings were committed, else why not.</summary>
    public string? Failure { get; private set; }

    /// <summary>The run was settled by cancellation (its timeout, the caller's token, or the probe's own cancellation).</summary>
    public bool Cancelled { get; private set; }

    /// <summary>Records, without calling the probe, that it is still running since an earlier tick.</summary>
    public void SkipHung()
    {
        Failure = "still running since an earlier tick (hung); not started again";
        Cancelled = false;
        _slot.ClearValues();
    }

    /// <summary>
    /// Queues the probe on the thread pool under <paramref name="timeout"/> (armed before the probe is called, so a clock
    /// that moves cannot be missed; the runner cancels it when the caller does). Its settling is reported to the runner.
    /// </summary>
    public void Start(CancellationTokenSource timeout, TimeSpan timeoutValue, TickScope scope)
    {
        _timeout = timeout;
        _timeoutValue = timeoutValue;
        _scope = scope;
        Failure = null;
        Cancelled = false;
        _settled = Pending;
        _registered = 0;
        _registration = default;
        _busy = 1;
        _started = _time.GetTimestamp();

        // The probe's token is its timeout source's: the caller's cancellation reaches it through the runner, which
        // cancels every run's source (no linked source per probe per tick).
        _token = timeout.Token;

        if (Inline)
        {
            CallInline();
            return;
        }

        Register();

        // The probe runs in the tick's execution context (its activity, logging scopes), as a Task.Run would.
        _context = ExecutionContext.Capture();
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>Settles the run when its token fires (at once, if it already has).</summary>
    private void Register()
    {
        _registration = _token.UnsafeRegister(static state => ((ProbeRun)state!).OnCancelled(), this);
        Volatile.Write(ref _registered, 1); // after the registration is whole: ProbeEnded may read it from another thread
    }

    /// <summary>
    /// Calls the probe on the tick's thread and times the call up to its first incomplete await: a probe that took too
    /// long is moved to the thread pool for every later tick (this tick's reading stands: it did arrive).
    /// </summary>
    private void CallInline()
    {
        if (_token.IsCancellationRequested)
        {
            OnCancelled(); // the caller cancelled before the probe was called: it is not called, as on the thread pool
            Volatile.Write(ref _busy, 0);
            return;
        }

        // A probe that returned at once was settled inside the call, which measured it already (one clock read less).
        _elapsed = TimeSpan.MinValue;
        CallProbe();
        if (Volatile.Read(ref _settled) == Pending)
        {
            // The call went asynchronous: from here on it is a probe like any other, under its token and its timeout.
            Register();
            if (Volatile.Read(ref _settled) != Pending)
            {
                _registration.Unregister(); // it ended meanwhile, before it could see the registration
            }
            else
            {
                var left = _timeoutValue - _time.GetElapsedTime(_started);
                _timeout!.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
        }

        var took = _elapsed >= TimeSpan.Zero ? _elapsed : _time.GetElapsedTime(_started);
        if (took > ProbeDefaults.InlineCallLimit)
        {
            Inline = false;
            _runner.InlineProbeTooSlow(this, took);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_context is { } context)
        {
            ExecutionContext.Run(context, static state => ((ProbeRun)state!).CallProbe(), this);
        }
        else
        {
            CallProbe();
        }
    }

    private void CallProbe()
    {
        if (Volatile.Read(ref _settled) != Pending)
        {
            // Timed out (or cancelled) before a thread took it: the probe is not called at all.
            Volatile.Write(ref _busy, 0);
            return;
        }

        // The same entry the allocation test measures: reset the writer, give it the tick's scope, call the probe.
        var call = _slot.Start(_scope, _token);
        if (call.IsCompleted)
        {
            ProbeEnded(Outcome(call));
            return;
        }

        _awaited = call;
        call.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onProbeAwaited);
    }

    private void OnProbeAwaited()
    {
        var call = _awaited;
        _awaited = default;
        ProbeEnded(Outcome(call));
    }

    private static Exception? Outcome(ValueTask call)
    {
        try
        {
            call.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>The probe's call ended (returned, threw, or faulted): it settles the run if its token did not first.</summary>
    private void ProbeEnded(Exception? error)
    {
        if (Interlocked.Exchange(ref _settled, Settled) == Pending)
        {
            if (Volatile.Read(ref _registered) != 0)
            {
                _registration.Unregister();
            }

            if (error is null)
            {
                _slot.Commit();
            }
            else
            {
                Cancelled = error is OperationCanceledException;
                Failure = Cancelled
                    ? CancelReason()
                    : SecretScrubber.Describe(error);
                _slot.ClearValues();
            }

            Volatile.Write(ref _busy, 0);
            Finish();
            return;
        }

        // Settled by its token already (timed out): the late end is discarded, the slot is free for the next tick.
        Volatile.Write(ref _busy, 0);
    }

    /// <summary>The run's token fired first: no reading this tick, and a probe still running writes into an abandoned buffer.</summary>
    private void OnCancelled()
    {
        if (Interlocked.Exchange(ref _settled, Settled) != Pending)
        {
            return;
        }

        Cancelled = true;
        Failure = CancelReason();

        // Whatever the probe wrote before is not a reading. If it is still running, its writer is closed and never read
        // again, so a late write cannot land in this tick or a later one.
        _slot.ClearValues();
        _slot.AbandonWriter();
        Finish();
    }

    private string CancelReason() =>
        _timeout!.IsCancellationRequested && !_runner.CallerCancelled ? $"timed out after {_timeoutValue}" : "cancelled";

    private void Finish()
    {
        _elapsed = _time.GetElapsedTime(_started);
        _runner.Settled(this, _elapsed);
    }
}
