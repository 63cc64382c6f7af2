namespace Reconciliation;

/// <summary>
/// Every call the engine makes into code it does not own (journal, lease, a healer's plan) runs isolated on the thread
/// pool under a deadline, as <c>DefaultHealthCheckService</c> isolates each check: a call that blocks synchronously or
/// ignores its token costs only its own answer, never the tick.
/// </summary>
internal static class OutboundCall
{
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
