namespace Reconciliation;

/// <summary>
/// Every call the engine makes into code it does not own (journal, lease, a healer's plan) runs isolated on the thread
/// pool under a deadline, as <c>DefaultHealthCheckService</c> isolates each check: a call that blocks synchronously or
/// ignores its token costs only its own answer, never the tick.
/// </summary>
internal static class OutboundCall
{
    /// <summary>
    /// Calls <paramref name="call"/> on <paramref name="target"/>: inline when the target is one of the library's own
    /// in-memory implementations (they never block and answer synchronously, so isolating them would only cost a
    /// thread-pool hop per call), otherwise isolated under the deadline.
    /// </summary>
    public static async Task<T> RunAsync<T>(object target, Func<CancellationToken, ValueTask<T>> call, TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken) =>
        target is INeverBlocks
            ? await call(cancellationToken).ConfigureAwait(false)
            : await RunAsync(call, deadline, time, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="RunAsync{T}(object, Func{CancellationToken, ValueTask{T}}, TimeSpan, TimeProvider, CancellationToken)"/>
    public static async Task RunAsync(object target, Func<CancellationToken, ValueTask> call, TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        if (target is INeverBlocks)
        {
            await call(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RunAsync(call, deadline, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task<T> RunAsync<T>(Func<CancellationToken, ValueTask<T>> call, TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;
        var run = Task.Run(() => call(token).AsTask(), CancellationToken.None);
        try
        {
            return await run.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Observe(run);
            throw new TimeoutException($"no answer within {deadline}");
        }
        catch (OperationCanceledException)
        {
            Observe(run);
            throw;
        }
    }

    public static async Task RunAsync(Func<CancellationToken, ValueTask> call, TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken) =>
        await RunAsync(async token =>
        {
            await call(token).ConfigureAwait(false);
            return true;
        }, deadline, time, cancellationToken).ConfigureAwait(false);

    /// <summary>A call left running past its deadline must not raise an unobserved task exception later.</summary>
    public static void Observe(Task task)
    {
        if (!task.IsCompleted)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        else
        {
            _ = task.Exception;
        }
    }
}
