namespace Reconciliation;

/// <summary>
/// The engine's view of a shared heal journal that may be unreachable (the database restarting, the network gone):
/// every record is also kept in this process's memory, a record that could not be written is queued and written, in
/// order, once the journal answers again (the store keeps one record per <see cref="HealRecord.Id"/>, so a write that
/// timed out but did land is not counted twice), and while the journal cannot answer, counts come from this process's
/// own records, so process-scoped heals go on under their limits as this replica saw them. A fenced write
/// (<see cref="HealLeaseLostException"/>) is never queued: it must not land at all.
/// </summary>
internal sealed class CatchingUpHealJournal : IHealJournal, IDisposable
{
    /// <summary>The most records kept for catching up; beyond it the oldest are dropped.</summary>
    public const int MaxQueued = 10_000;

    private readonly IHealJournal _inner;
    private readonly ReconciliationDiagnostics? _diagnostics;
    private readonly InMemoryHealJournal _local = new();
    private readonly Queue<HealRecord> _queued = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private int _queuedCount;
    private int _unreachable;
    private Task _catchingUp = Task.CompletedTask;

    public CatchingUpHealJournal(IHealJournal inner, ReconciliationDiagnostics? diagnostics = null)
    {
        _inner = inner;
        _diagnostics = diagnostics;
    }

    /// <summary>Records waiting for the journal to answer again.</summary>
    public int Queued => Volatile.Read(ref _queuedCount);

    public void Dispose() => _flushing.Dispose();

    public async ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        await _local.RecordAsync(record, cancellationToken).ConfigureAwait(false);
        if (_inner is INeverBlocks)
        {
            await _inner.RecordAsync(record, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            await _inner.RecordAsync(record, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _unreachable, 0);
        }
        catch (HealLeaseLostException)
        {
            throw;
        }
        catch (Exception)
        {
            Enqueue(record);
            Volatile.Write(ref _unreachable, 1);
            throw;
        }
    }

    public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken) =>
        ReadAsync(j => j.CountAttemptsAsync(healer, resource, replica, since, cancellationToken), cancellationToken);

    public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
        ReadAsync(j => j.AttemptTimesAsync(healer, replica, since, max, cancellationToken), cancellationToken);

    public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        ReadAsync(j => j.CountAllAttemptsAsync(since, cancellationToken), cancellationToken);

    public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) =>
        ReadAsync(j => j.RecentAsync(max, cancellationToken), cancellationToken);

    private async ValueTask<T> ReadAsync<T>(Func<IHealJournal, ValueTask<T>> read, CancellationToken cancellationToken)
    {
        if (_inner is INeverBlocks)
        {
            return await read(_inner).ConfigureAwait(false);
        }

        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            var answer = await read(_inner).ConfigureAwait(false);
            Volatile.Write(ref _unreachable, 0);
            return answer;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Unreachable: this process's own records are the best answer there is (per replica, since this start).
            // Said once per outage, not on every read.
            if (Interlocked.Exchange(ref _unreachable, 1) == 0)
            {
                _diagnostics?.JournalFailed("answer (limits count this process's own records until it is back)", e);
            }

            return await read(_local).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts writing the queued records in the background when there are any and no catch-up runs (the engine calls it
    /// every tick, so records land even when no heal asks the journal anything).
    /// </summary>
    public void CatchUp(TimeSpan deadline, TimeProvider time)
    {
        if (Queued == 0 || !_catchingUp.IsCompleted)
        {
            return;
        }

        _catchingUp = CatchUpAsync(deadline, time);
    }

    /// <summary>Completes when the catch-up under way (if any) has ended (for tests).</summary>
    internal Task WhenCaughtUpAsync() => _catchingUp;

    private async Task CatchUpAsync(TimeSpan deadline, TimeProvider time)
    {
        try
        {
            await OutboundCall.RunAsync(_inner, token => new ValueTask(FlushAsync(token)), deadline, time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Still unreachable: the next tick tries again.
        }
    }

    private void Enqueue(HealRecord record)
    {
        lock (_queued)
        {
            if (_queued.Count >= MaxQueued)
            {
                _queued.Dequeue();
            }

            _queued.Enqueue(record);
            Volatile.Write(ref _queuedCount, _queued.Count);
        }
    }

    /// <summary>Writes the queued records in order; stops at the first that fails (it stays first in line).</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Queued == 0)
        {
            return;
        }

        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                HealRecord next;
                lock (_queued)
                {
                    if (!_queued.TryPeek(out next!))
                    {
                        return;
                    }
                }

                try
                {
                    await _inner.RecordAsync(next, cancellationToken).ConfigureAwait(false);
                }
                catch (HealLeaseLostException)
                {
                    // Superseded while it waited: it must not land; the next one may.
                }

                lock (_queued)
                {
                    if (_queued.TryPeek(out var head) && ReferenceEquals(head, next))
                    {
                        _queued.Dequeue();
                        Volatile.Write(ref _queuedCount, _queued.Count);
                    }
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }
}
