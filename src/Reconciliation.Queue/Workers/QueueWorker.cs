using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Notifications;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue.Workers;

/// <summary>
/// Runs the jobs of one queue with <typeparamref name="THandler"/>. One fetch loop leases a batch of jobs of its kind per
/// round trip (up to <see cref="QueueWorkerOptions.Concurrency"/> + <see cref="QueueWorkerOptions.Prefetch"/> held at once),
/// <see cref="QueueWorkerOptions.Concurrency"/> runners run them, one heartbeat statement per interval extends every lease
/// held, and completions are flushed in one statement per batch. Idle, it waits for a notification (or the poll interval).
/// On shutdown it stops taking jobs, hands prefetched ones back, lets running ones finish until the host's shutdown token
/// fires, then releases the leases of the rest.
/// </summary>
internal sealed class QueueWorker<TPayload, THandler> : IHostedService, IDisposable, IQueueSignal
    where THandler : class, IJobHandler<TPayload>
{
    private const int MaxCompletionBatch = 1000;

    private readonly PostgresJobQueue _queue;
    private readonly IServiceScopeFactory _scopes;
    private readonly QueueWorkerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly QueueListener? _listener;
    private readonly QueueMetrics _metrics;
    private readonly TimeSpan _heartbeat;
    private readonly string _kind = JobKind.Of<TPayload>();
    private readonly string[] _kinds;
    private readonly JsonSerializerOptions _json;
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly CancellationTokenSource _stopHeartbeat = new();
    // Keyed by lease token, not job id: after a rescue one worker can hold a lost lease and a new lease of the same job.
    private readonly ConcurrentDictionary<Guid, Held> _held = new();
    private readonly Channel<Held> _buffer = Channel.CreateUnbounded<Held>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<Held> _completions = Channel.CreateUnbounded<Held>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AsyncSignal _work = new();
    private readonly AsyncSignal _room = new();
    private IDisposable? _subscription;
    private int _completing;
    private int _queuedCompletions;
    private long _averageDuration;
    private Task? _fetch;
    private Task[] _runners = [];
    private Task? _heartbeats;
    private Task? _completer;

    public QueueWorker(PostgresJobQueue queue, IServiceScopeFactory scopes, QueueWorkerOptions options, TimeProvider timeProvider, ILogger logger,
        QueueListener? listener = null, QueueMetrics? metrics = null)
    {
        _queue = queue;
        _scopes = scopes;
        _options = options;
        _time = timeProvider;
        _logger = logger;
        _listener = queue.Options.Notify ? listener : null;
        _metrics = metrics ?? new QueueMetrics(null);
        _kinds = [_kind];
        _heartbeat = options.HeartbeatInterval ?? queue.Options.VisibilityTimeout / 3;
        var bound = queue.Options.HeartbeatTimeout is { } timeout && timeout < queue.Options.VisibilityTimeout ? timeout : queue.Options.VisibilityTimeout;
        if (_heartbeat >= bound)
        {
            // Healthy jobs would count as stuck between two heartbeats and be requeued under the worker's feet.
            throw new InvalidOperationException(
                $"The worker {typeof(THandler).Name} of queue '{queue.Name}' heartbeats every {_heartbeat}, which is not shorter than the queue's "
                + $"{(bound == queue.Options.VisibilityTimeout ? "VisibilityTimeout" : "HeartbeatTimeout")} ({bound}); set QueueWorkerOptions.HeartbeatInterval well below it.");
        }

        // A payload of another shape must fail to read, not arrive with default values: unknown members and missing
        // constructor parameters are errors.
        _json = new JsonSerializerOptions(queue.SerializerOptions)
        {
            UnmappedMemberHandling = options.StrictPayloads ? JsonUnmappedMemberHandling.Disallow : queue.SerializerOptions.UnmappedMemberHandling,
            RespectRequiredConstructorParameters = options.StrictPayloads || queue.SerializerOptions.RespectRequiredConstructorParameters,
            RespectNullableAnnotations = options.StrictPayloads || queue.SerializerOptions.RespectNullableAnnotations,
        };
        
    }

    /// <summary>Jobs running now (for tests and diagnostics).</summary>
    internal int RunningCount => _held.Values.Count(h => h.Started);

    /// <summary>Completions queued for the next flush and not yet taken by it (for tests; counted once written).</summary>
    internal int QueuedCompletions => Volatile.Read(ref _queuedCompletions);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.WorkerStarted(_logger, _queue.Name, typeof(THandler).Name, _options.Concurrency);
        _subscription = _listener?.Subscribe(_queue.NotifyPayload, this);
        _runners = Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(RunnerAsync, CancellationToken.None)).ToArray();
        _heartbeats = Task.Run(HeartbeatLoopAsync, CancellationToken.None);
        _completer = Task.Run(CompleterAsync, CancellationToken.None);
        _fetch = Task.Run(FetchLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // 1. Stop taking jobs; prefetched ones go back (the runners hand them back as they read them).
        await _stopTaking.CancelAsync().ConfigureAwait(false);
        _subscription?.Dispose();
        if (_fetch is not null)
        {
            await _fetch.ConfigureAwait(false);
        }

        _buffer.Writer.TryComplete();

        // 2. Let running jobs finish while the host allows.
        try
        {
            await Task.WhenAll(_runners).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // 3. Out of time: cancel the handlers and give their jobs back now, without waiting for handlers that
            // ignore their token. A handler that still finishes later is rejected by its stale token.
            var left = _held.Values.Where(h => !h.Completing).ToArray();
            Log.ReleasingLeases(_logger, _queue.Name, left.Length);
            await _hardStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(left.Select(h => GiveBackAsync(h))).ConfigureAwait(false);
        }

        // 4. Flush the completions still queued, then stop heartbeating.
        _completions.Writer.TryComplete();
        if (_completer is not null)
        {
            await _completer.ConfigureAwait(false);
        }

        await _stopHeartbeat.CancelAsync().ConfigureAwait(false);
        if (_heartbeats is not null)
        {
            await _heartbeats.ConfigureAwait(false);
        }

        Log.WorkerStopped(_logger, _queue.Name, typeof(THandler).Name);
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _stopTaking.Dispose();
        _hardStop.Dispose();
        _stopHeartbeat.Dispose();
    }

    void IQueueSignal.Wake() => _work.Set();

    void IQueueSignal.Cancelled(long jobId)
    {
        foreach (var held in _held.Values)
        {
            if (held.Lease.Id == jobId && !held.Completing)
            {
                Log.JobCancelled(_logger, _queue.Name, jobId);
                held.LoseLease(cancelled: true);
            }
        }
    }

    private async Task FetchLoopAsync()
    {
        var stopping = _stopTaking.Token;
        var failing = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                _room.Reset();

                // Jobs whose completion is only waiting for the next flush take no room: fetching overlaps with flushing.
                // Fetch a batch once half the room is free, or at once when the runners have nothing left to take.
                var capacity = Capacity();
                var room = capacity - (_held.Count - Volatile.Read(ref _completing));
                if (room <= 0 || (room < (capacity + 1) / 2 && _buffer.Reader.Count > 0))
                {
                    await _room.WaitAsync(null, _time, stopping).ConfigureAwait(false);
                    continue;
                }

                _work.Reset();

                // Not cancelled by the stop signal: a dequeue cut off after its commit would strand the leases it took.
                var leases = await _queue.DequeueAsync(room, _kinds, _hardStop.Token).ConfigureAwait(false);
                if (failing)
                {
                    failing = false;
                    Log.WorkerRecovered(_logger, _queue.Name);
                }

                foreach (var lease in leases)
                {
                    var held = new Held(lease, _hardStop.Token);
                    _held[lease.Token] = held;
                    _buffer.Writer.TryWrite(held);
                }

                if (leases.Count < room)
                {
                    // Fewer due jobs than room: the queue is drained for now. Sleep until a notification or the poll interval.
                    await _work.WaitAsync(_options.PollInterval, _time, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
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

    /// <summary>
    /// How many jobs this worker may hold: its runners plus the prefetch. A fixed <see cref="QueueWorkerOptions.Prefetch"/>
    /// is taken as is. By default the prefetch adapts to how long jobs take: enough for the runners to stay busy for
    /// <see cref="QueueWorkerOptions.PrefetchHorizon"/> (so no-op jobs come in large batches), and none for jobs that take
    /// longer than that (so one replica does not sit on long jobs that another replica's idle runners could start now).
    /// </summary>
    private int Capacity()
    {
        var concurrency = _options.Concurrency;
        if (_options.Prefetch is { } fixedPrefetch)
        {
            return concurrency + fixedPrefetch;
        }

        var average = Volatile.Read(ref _averageDuration);
        if (average <= 0)
        {
            return concurrency * 2; // nothing measured yet
        }

        var perRunner = _options.PrefetchHorizon.TotalSeconds * _time.TimestampFrequency / average;
        return concurrency + (int)Math.Clamp(concurrency * perRunner, 0, concurrency * QueueWorkerOptions.MaxPrefetchFactor);
    }

    private void Measure(long started)
    {
        // An exponentially weighted mean of handler durations (timestamp ticks), updated without a lock: a lost update
        // only delays the adaptation by one job.
        var elapsed = _time.GetTimestamp() - started;
        var average = Volatile.Read(ref _averageDuration);
        Volatile.Write(ref _averageDuration, average <= 0 ? elapsed : average + ((elapsed - average) / 16));
    }

    private async Task RunnerAsync()
    {
        await foreach (var held in _buffer.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (held.Lost)
            {
                Forget(held); // cancelled or requeued while it waited here
            }
            else if (_stopTaking.IsCancellationRequested)
            {
                await GiveBackAsync(held).ConfigureAwait(false); // prefetched, never started: not a counted release
            }
            else
            {
                if (_buffer.Reader.Count == 0)
                {
                    _room.Set(); // the runners are about to starve: fetch now
                }

                await RunAsync(held).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(Held held)
    {
        var lease = held.Lease;
        held.Started = true;
        var started = _time.GetTimestamp();
        var settled = false;
        string outcome = "completed";
        try
        {
            TPayload payload;
            try
            {
                payload = lease.Deserialize<TPayload>(_json);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // It will never deserialize (a wrong shape, or a converter that throws): retrying would only loop.
                // Dead-letter it with the reason.
                outcome = "dead_lettered";
                var reason = $"payload cannot be deserialized as {typeof(TPayload).Name} (kind {lease.Kind}): {e.Message}";
                await SettleAsync(lease, "dead-letter", async () =>
                {
                    if (await _queue.DeadLetterAsync(lease, reason, CancellationToken.None).ConfigureAwait(false))
                    {
                        Log.DeadLettered(_logger, _queue.Name, lease.Id, lease.Attempt, SecretScrubber.Scrub(reason));
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
                    await handler.HandleAsync(job, held.Token).ConfigureAwait(false);
                }

                Measure(started);
            }
            catch (OperationCanceledException) when (held.Token.IsCancellationRequested)
            {
                // Lease lost or job cancelled (someone else owns it, or no one should run it), or shutdown (StopAsync
                // releases the lease): nothing to settle here.
                outcome = held.Cancelled ? "cancelled" : held.Lost ? "lease_lost" : "released";
                if (!held.Lost)
                {
                    settled = true; // StopAsync gives it back
                }

                return;
            }
            catch (Exception e)
            {
                failure = e;
            }

            if (_options.SimulateCrash?.Invoke(lease) == true)
            {
                // The process "died" here: no settle, and its lease is no longer heartbeated.
                outcome = "crashed";
                return;
            }

            if (failure is null)
            {
                if (!job.IsCompleted && !held.Lost)
                {
                    // Flushed with other completions in one statement; the lease stays heartbeated until then.
                    held.Completing = true;
                    Interlocked.Increment(ref _completing);
                    _room.Set();
                    held.Elapsed = _time.GetElapsedTime(started);
                    if (_completions.Writer.TryWrite(held))
                    {
                        Interlocked.Increment(ref _queuedCompletions);
                        settled = true;
                        return;
                    }

                    await SettleAsync(lease, "complete", () => CompleteOneAsync(held)).ConfigureAwait(false);
                }
                else if (held.Lost)
                {
                    outcome = held.Cancelled ? "cancelled" : "lease_lost";
                }

                return;
            }

            outcome = "failed";
            var error = SecretScrubber.Describe(failure);
            await SettleAsync(lease, "fail", async () =>
            {
                switch (await _queue.FailAsync(lease, error, CancellationToken.None).ConfigureAwait(false))
                {
                    case JobFailResult.RetryScheduled:
                        Log.RetryScheduled(_logger, _queue.Name, lease.Id, lease.Attempt, lease.MaxAttempts, error);
                        break;
                    case JobFailResult.DeadLettered:
                        outcome = "dead_lettered";
                        Log.DeadLettered(_logger, _queue.Name, lease.Id, lease.Attempt, error);
                        break;
                    default:
                        outcome = held.Cancelled ? "cancelled" : "lease_lost";
                        Log.FailureRejected(_logger, _queue.Name, lease.Id);
                        break;
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            if (!settled)
            {
                _metrics.Ran(_queue.Name, lease.Kind, outcome, _time.GetElapsedTime(started));
                if (held.Lost && !held.Cancelled)
                {
                    Log.LeaseLost(_logger, _queue.Name, lease.Id);
                }

                Forget(held);
            }
        }
    }

    private async Task CompleteOneAsync(Held held)
    {
        // The answer is the point: false means the job was requeued or cancelled and is not completed by us.
        if (!await _queue.CompleteAsync(held.Lease, CancellationToken.None).ConfigureAwait(false))
        {
            Log.CompletionRejected(_logger, _queue.Name, held.Lease.Id);
        }
    }

    private async Task CompleterAsync()
    {
        var batch = new List<Held>(64);
        var leases = new List<JobLease>(64);
        while (await _completions.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            leases.Clear();
            while (batch.Count < MaxCompletionBatch && _completions.Reader.TryRead(out var held))
            {
                Interlocked.Decrement(ref _queuedCompletions);
                batch.Add(held);
                leases.Add(held.Lease);
            }

            try
            {
                // By lease token, not job id: after a rescue the batch can hold this worker's lost lease and its new lease
                // of the same job, and only the new one completes; the lost one is rejected and must say so.
                var completed = await _queue.CompleteTokensAsync(leases, CancellationToken.None).ConfigureAwait(false);
                var done = completed.Count == batch.Count ? null : completed.ToHashSet();
                foreach (var held in batch)
                {
                    var ok = done is null || done.Contains(held.Lease.Token);
                    if (!ok)
                    {
                        // Requeued or cancelled meanwhile: its new holder (or no one) settles it.
                        Log.CompletionRejected(_logger, _queue.Name, held.Lease.Id);
                    }

                    _metrics.Ran(_queue.Name, held.Lease.Kind, ok ? "completed" : held.Cancelled ? "cancelled" : "lease_lost", held.Elapsed);
                }
            }
            catch (Exception e)
            {
                // The database is unreachable: the leases expire and the rescue requeues the jobs (at-least-once).
                foreach (var held in batch)
                {
                    Log.SettleFailed(_logger, _queue.Name, held.Lease.Id, "complete", SecretScrubber.Describe(e));
                }
            }

            foreach (var held in batch)
            {
                Forget(held);
            }
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        using var timer = new PeriodicTimer(_heartbeat, _time);
        var stop = _stopHeartbeat.Token;
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var snapshot = _held.Values.Where(h => !h.Lost && !h.Completing).ToArray();
                if (snapshot.Length == 0)
                {
                    continue;
                }

                try
                {
                    // One statement for every lease this worker holds (a HOT update: no indexed column changes).
                    var stillHeld = (await _queue.HeartbeatTokensAsync([.. snapshot.Select(h => h.Lease)], stop).ConfigureAwait(false)).ToHashSet();
                    foreach (var held in snapshot)
                    {
                        // A job completed meanwhile is gone from the answer too; only a lease still in hand and not being completed is lost.
                        if (!stillHeld.Contains(held.Lease.Token) && !held.Completing && _held.ContainsKey(held.Lease.Token))
                        {
                            // Requeued as stuck or cancelled: someone else may run it now. Stop the handler; never settle it.
                            held.LoseLease(cancelled: false);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Keep trying: the lease lasts a whole visibility timeout, several heartbeats.
                    Log.HeartbeatFailed(_logger, _queue.Name, snapshot[0].Lease.Id, SecretScrubber.Describe(e));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task GiveBackAsync(Held held)
    {
        await SettleAsync(held.Lease, "release", () => _queue.ReleaseAsync(held.Lease, held.Started, CancellationToken.None)).ConfigureAwait(false);
        Forget(held);
    }

    private void Forget(Held held)
    {
        if (_held.TryRemove(new KeyValuePair<Guid, Held>(held.Lease.Token, held)))
        {
            if (held.Completing)
            {
                Interlocked.Decrement(ref _completing);
            }

            held.Dispose();
            _room.Set();
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
            // The database is unreachable: the lease expires and the rescue requeues the job (at-least-once).
            Log.SettleFailed(_logger, _queue.Name, lease.Id, action, SecretScrubber.Describe(e));
        }
    }

    /// <summary>One leased job in this worker's hands: prefetched, running, or waiting for its completion to be flushed.</summary>
    private sealed class Held(JobLease lease, CancellationToken hardStop) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(hardStop);
        private volatile bool _lost;
        private volatile bool _cancelled;
        private volatile bool _completing;
        private volatile bool _started;
        private int _disposed;

        public JobLease Lease { get; } = lease;

        public CancellationToken Token => _cancel.Token;

        public bool Lost => _lost;

        public bool Cancelled => _cancelled;

        public bool Completing { get => _completing; set => _completing = value; }

        public bool Started { get => _started; set => _started = value; }

        public TimeSpan Elapsed { get; set; }

        public void LoseLease(bool cancelled)
        {
            _cancelled |= cancelled;
            _lost = true;
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already finished and forgotten.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _cancel.Dispose();
            }
        }
    }
}
