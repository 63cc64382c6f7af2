using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue.Workers;

/// <summary>
/// Runs the jobs of one queue with <typeparamref name="THandler"/>: leases at most as many jobs as it has free slots,
/// heartbeats each running job, completes or fails it by its lease token and checks the answer. On shutdown it stops
/// taking jobs, lets running ones finish until the host's shutdown token fires, then releases the leases of the rest.
/// </summary>
internal sealed class QueueWorker<TPayload, THandler> : IHostedService, IDisposable
    where THandler : class, IJobHandler<TPayload>
{
    private readonly PostgresJobQueue _queue;
    private readonly IServiceScopeFactory _scopes;
    private readonly QueueWorkerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _heartbeat;
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly ConcurrentDictionary<long, (JobLease Lease, Task Run)> _running = new();
    private readonly SemaphoreSlim _slots;
    private Task? _loop;

    public QueueWorker(PostgresJobQueue queue, IServiceScopeFactory scopes, QueueWorkerOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _queue = queue;
        _scopes = scopes;
        _options = options;
        _time = timeProvider;
        _logger = logger;
        _heartbeat = options.HeartbeatInterval ?? queue.Options.VisibilityTimeout / 3;
        var bound = queue.Options.HeartbeatTimeout is { } timeout && timeout < queue.Options.VisibilityTimeout ? timeout : queue.Options.VisibilityTimeout;
        if (_heartbeat >= bound)
        {
            // Healthy jobs would count as stuck between two heartbeats and be requeued under the worker's feet.
            throw new InvalidOperationException(
                $"The worker {typeof(THandler).Name} of queue '{queue.Name}' heartbeats every {_heartbeat}, which is not shorter than the queue's "
                + $"{(bound == queue.Options.VisibilityTimeout ? "VisibilityTimeout" : "HeartbeatTimeout")} ({bound}); set QueueWorkerOptions.HeartbeatInterval well below it.");
        }

        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
    }

    /// <summary>Jobs running now (for tests and diagnostics).</summary>
    internal int RunningCount => _running.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.WorkerStarted(_logger, _queue.Name, typeof(THandler).Name, _options.Concurrency);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // 1. Stop taking jobs.
        await _stopTaking.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        // 2. Let running jobs finish while the host allows.
        var running = _running.Values.Select(r => r.Run).ToArray();
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // 3. Out of time: cancel the handlers and give their jobs back now, without waiting for handlers that
            // ignore their token. A handler that still finishes later is rejected by its stale token.
            var left = _running.Values.ToArray();
            Log.ReleasingLeases(_logger, _queue.Name, left.Length);
            await _hardStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(left.Select(r => ReleaseAsync(r.Lease))).ConfigureAwait(false);
        }

        Log.WorkerStopped(_logger, _queue.Name, typeof(THandler).Name);
    }

    public void Dispose()
    {
        _stopTaking.Dispose();
        _hardStop.Dispose();
        _slots.Dispose();
    }

    private async Task LoopAsync()
    {
        var stopping = _stopTaking.Token;
        var failing = false;
        while (!stopping.IsCancellationRequested)
        {
            var free = 0;
            try
            {
                await _slots.WaitAsync(stopping).ConfigureAwait(false);
                free = 1;
                while (free < _options.Concurrency && _slots.Wait(0))
                {
                    free++;
                }

                // Not cancelled by the stop signal: a dequeue cut off after its commit would strand the leases it took.
                var leases = await _queue.DequeueAsync(free, _hardStop.Token).ConfigureAwait(false);
                if (failing)
                {
                    failing = false;
                    Log.WorkerRecovered(_logger, _queue.Name);
                }

                foreach (var lease in leases)
                {
                    free--;
                    Start(lease);
                }

                if (free > 0)
                {
                    _slots.Release(free);
                    free = 0;
                }

                if (leases.Count == 0)
                {
                    await Task.Delay(_options.PollInterval, _time, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                if (free > 0)
                {
                    _slots.Release(free);
                }

                if (!failing)
                {
                    // One line per outage, not one per retry.
                    failing = true;
                    Log.WorkerUnavailable(_logger, _queue.Name, _options.ErrorDelay, SecretScrubber.Describe(e));
                }

                try
                {
                    await Task.Delay(_options.ErrorDelay, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private void Start(JobLease lease)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Task.Run(async () =>
        {
            // Registered before it runs, so StopAsync always sees it.
            await gate.Task.ConfigureAwait(false);
            try
            {
                await RunAsync(lease).ConfigureAwait(false);
            }
            finally
            {
                _running.TryRemove(lease.Id, out _);
                ReleaseSlot();
            }
        });
        _running[lease.Id] = (lease, run);
        gate.SetResult();
    }

    private async Task RunAsync(JobLease lease)
    {
        using var jobCancel = CancellationTokenSource.CreateLinkedTokenSource(_hardStop.Token);
        using var heartbeatStop = new CancellationTokenSource();
        var leaseLost = new LeaseFlag();
        var heartbeat = HeartbeatAsync(lease, jobCancel, leaseLost, heartbeatStop.Token);

        // The heartbeat stops before the job is settled: a heartbeat racing the completion would find the job
        // completed and report a lost lease that was not lost.
        async Task StopHeartbeatAsync()
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }

        try
        {
            TPayload payload;
            try
            {
                payload = lease.Deserialize<TPayload>(_queue.SerializerOptions);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // It will never deserialize (a wrong shape, or a converter that throws): retrying would only loop.
                // Dead-letter it with the reason.
                var reason = $"payload cannot be deserialized as {typeof(TPayload).Name}: {e.Message}";
                await StopHeartbeatAsync().ConfigureAwait(false);
                await SettleAsync(lease, "dead-letter", async () =>
                {
                    if (await _queue.DeadLetterAsync(lease, reason, CancellationToken.None).ConfigureAwait(false))
                    {
                        Log.DeadLettered(_logger, _queue.Name, lease.Id, lease.Attempt, reason);
                    }
                }).ConfigureAwait(false);
                return;
            }

            var job = new QueueJob<TPayload>(_queue, lease, payload);
            Exception? failure = null;
            try
            {
                var scope = _scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    var handler = scope.ServiceProvider.GetRequiredService<THandler>();
                    await handler.HandleAsync(job, jobCancel.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (jobCancel.IsCancellationRequested)
            {
                // Lease lost (someone else owns the job) or shutdown (StopAsync releases the lease): nothing to settle here.
                return;
            }
            catch (Exception e)
            {
                failure = e;
            }

            await StopHeartbeatAsync().ConfigureAwait(false);
            if (_options.SimulateCrash?.Invoke(lease) == true)
            {
                // The process "died" here: no settle, no more heartbeats.
                return;
            }

            if (failure is null)
            {
                if (!job.IsCompleted)
                {
                    await SettleAsync(lease, "complete", async () =>
                    {
                        // The answer is the point: false means the job was requeued and is not completed by us.
                        if (!await _queue.CompleteAsync(lease, CancellationToken.None).ConfigureAwait(false))
                        {
                            Log.CompletionRejected(_logger, _queue.Name, lease.Id);
                        }
                    }).ConfigureAwait(false);
                }

                return;
            }

            var error = SecretScrubber.Describe(failure);
            await SettleAsync(lease, "fail", async () =>
            {
                switch (await _queue.FailAsync(lease, error, CancellationToken.None).ConfigureAwait(false))
                {
                    case JobFailResult.RetryScheduled:
                        Log.RetryScheduled(_logger, _queue.Name, lease.Id, lease.Attempt, lease.MaxAttempts, error);
                        break;
                    case JobFailResult.DeadLettered:
                        Log.DeadLettered(_logger, _queue.Name, lease.Id, lease.Attempt, error);
                        break;
                    default:
                        Log.FailureRejected(_logger, _queue.Name, lease.Id);
                        break;
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            await StopHeartbeatAsync().ConfigureAwait(false);
            if (leaseLost.Value)
            {
                Log.LeaseLost(_logger, _queue.Name, lease.Id);
            }
        }
    }

    private void ReleaseSlot()
    {
        try
        {
            _slots.Release();
        }
        catch (ObjectDisposedException)
        {
            // A handler that ignored shutdown finished after the worker was disposed: nothing left to free.
        }
    }

    private async Task HeartbeatAsync(JobLease lease, CancellationTokenSource jobCancel, LeaseFlag leaseLost, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_heartbeat, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    if (!await _queue.HeartbeatAsync(lease, stop).ConfigureAwait(false))
                    {
                        // Requeued as stuck: someone else may run it now. Stop the handler; never settle it.
                        leaseLost.Value = true;
                        await jobCancel.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Keep trying: the lease lasts a whole visibility timeout, several heartbeats.
                    Log.HeartbeatFailed(_logger, _queue.Name, lease.Id, SecretScrubber.Describe(e));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The job is done.
        }
    }

    private async Task SettleAsync(JobLease lease, string action, Func<Task> settle)
    {
        try
        {
            await settle().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is unreachable: the lease expires and the healer requeues the job (at-least-once).
            Log.SettleFailed(_logger, _queue.Name, lease.Id, action, SecretScrubber.Describe(e));
        }
    }

    private async Task ReleaseAsync(JobLease lease)
    {
        await SettleAsync(lease, "release", () => _queue.ReleaseAsync(lease, CancellationToken.None)).ConfigureAwait(false);
    }

    private sealed class LeaseFlag
    {
        public volatile bool Value;
    }
}
