namespace Reconciliation;

/// <summary>
/// Runs every probe of a tick concurrently, each isolated on the thread pool under its timeout (a probe that blocks
/// synchronously before its first await costs only its own reading), and commits a probe's readings only when it
/// finished in time. A probe that hung past its timeout is not started again while it still runs.
/// </summary>
internal sealed class ProbeRunner
{
    private readonly SignalTable _table;
    private readonly TimeProvider _time;
    private readonly ReconciliationDiagnostics _diagnostics;
    private readonly Task<string?>[] _runs;
    private readonly CancellationTokenSource?[] _timeouts;

    public ProbeRunner(SignalTable table, TimeProvider time, ReconciliationDiagnostics diagnostics)
    {
        _table = table;
        _time = time;
        _diagnostics = diagnostics;
        _runs = new Task<string?>[table.Probes.Length];
        _timeouts = new CancellationTokenSource?[table.Probes.Length];
    }

    public async Task<IReadOnlyList<ProbeFailure>> RunAsync(TimeSpan timeout, TickScope scope, CancellationToken cancellationToken)
    {
        var probes = _table.Probes;
        var values = _table.Values;
        for (var i = _table.FirstFailedSlot; i < values.Length; i++)
        {
            values[i] = 0;
        }

        var runs = _runs;
        for (var i = 0; i < probes.Length; i++)
        {
            runs[i] = RunProbeAsync(probes[i], ArmTimeout(i, timeout), timeout, scope, cancellationToken);
        }

        if (runs.Length == 1)
        {
            await runs[0].ConfigureAwait(false); // no WhenAll promise for the common one-probe host
        }
        else
        {
            await Task.WhenAll(runs).ConfigureAwait(false);
        }

        List<ProbeFailure>? failures = null;
        for (var i = 0; i < probes.Length; i++)
        {
            var slot = probes[i];
            var reason = runs[i].Result;
            runs[i] = null!;
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

        return failures ?? (IReadOnlyList<ProbeFailure>)[];
    }

    /// <summary>
    /// The probe's timeout, armed before the probe is called. A source whose timer did not fire is reset and reused on
    /// the next tick (no allocation); one that fired (or whose probe may still hold its token) is replaced.
    /// </summary>
    private CancellationTokenSource ArmTimeout(int probe, TimeSpan timeout)
    {
        var source = _timeouts[probe];
        if (source is null || !source.TryReset())
        {
            source = _timeouts[probe] = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        }

        source.CancelAfter(timeout);
        return source;
    }

    /// <summary>Runs one probe under its timeout. Returns null on success, or the scrubbed reason it failed.</summary>
    private async Task<string?> RunProbeAsync(ProbeSlot slot, CancellationTokenSource timeoutSource, TimeSpan timeout, TickScope scope, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        if (slot.Running is { IsCompleted: false })
        {
            // A probe that hung past its timeout is not started twice: it may hold the only connection it has.
            slot.ClearValues();
            _diagnostics.Metrics.RecordProbe(slot.Probe.Resource, slot.TypeName, TimeSpan.Zero, failed: true);
            return "still running since an earlier tick (hung); not started again";
        }


        // The timeout timer exists before the probe is called, and the wait below ends when it fires even if the
        // probe ignores its token or blocks its thread. (A timer created after the call could miss a clock that moved.)
        // A caller token that can never cancel (the loop's own, until shutdown, can) needs no linked source.
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token) : null;
        var token = linked?.Token ?? timeoutSource.Token;
        // The same entry the allocation test measures: reset the writer, give it the tick's scope, call the probe.
        var run = Task.Run(() => slot.Start(scope, token).AsTask(), CancellationToken.None);
        slot.Running = run;
        string? failure = null;
        try
        {
            await run.WaitAsync(token).ConfigureAwait(false);
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
                OutboundCall.Observe(run);
            }
        }

        _diagnostics.Metrics.RecordProbe(slot.Probe.Resource, slot.TypeName, _time.GetElapsedTime(started), failure is not null);
        return failure;
    }
}
