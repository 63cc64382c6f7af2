namespace Reconciliation.Queue.Workers;

/// <summary>
/// A resettable wake-up: <see cref="Set"/> from any thread; <see cref="Reset"/> before looking for work, then
/// <see cref="WaitAsync"/>, so a signal raised between the two is never lost.
/// </summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _signal = New();

    public void Set() => Volatile.Read(ref _signal).TrySetResult();

    public void Reset()
    {
        var current = Volatile.Read(ref _signal);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _signal, New(), current);
        }
    }

    /// <summary>Waits until <see cref="Set"/> (since the last <see cref="Reset"/>) or <paramref name="timeout"/> on <paramref name="time"/>.</summary>
    public async Task WaitAsync(TimeSpan? timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal).Task;
        if (signal.IsCompleted)
        {
            return;
        }

        if (timeout is not { } wait)
        {
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, time, delayCancel.Token);
        await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await delayCancel.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
