using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Reconciliation;

/// <summary>
/// Runs heals off the tick. Each heal runs on the thread pool (a healer that blocks synchronously cannot stall the
/// loop), under its timeout, in its own DI scope, holding the shared-resource lease until the healer's task has really
/// ended and its verdict has fallen. One resource is never healed twice at once: it stays busy from the start of a heal
/// to its release. Every heal that started is journaled with its outcome, cancelled ones included.
/// </summary>
internal sealed class HealExecutor : IAsyncDisposable
{
    private readonly IHealLease _lease;
    private readonly IHealJournal _journal;
    private readonly TimeProvider _time;
    private readonly ReconciliationDiagnostics _diagnostics;
    private readonly IServiceScopeFactory? _scopes;
    private readonly Dictionary<string, HealExecution> _busy = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<HealExecution> _completed = new();
    private readonly HashSet<Task> _inFlight = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _unrecordedAttempts;
    private int _disposed;

    public HealExecutor(IHealLease lease, IHealJournal journal, TimeProvider time, ReconciliationDiagnostics diagnostics, IServiceScopeFactory? scopes)
    {
        _lease = lease;
        _journal = journal;
        _time = time;
        _diagnostics = diagnostics;
        _scopes = scopes;
    }

    /// <summary>The deadline of each journal and lease call (from <see cref="ReconciliationOptions.CallTimeout"/>).</summary>
    public TimeSpan CallTimeout { get; set; } = HealingDefaults.CallTimeout;

    /// <summary>This replica's name, recorded with every heal (from <see cref="ReconciliationOptions.ReplicaId"/>).</summary>
    public string Replica { get; set; } = Environment.MachineName;

    /// <summary>Heals started and not yet in the journal: the budget counts them, or a burst could overrun it.</summary>
    public int UnrecordedAttempts => Volatile.Read(ref _unrecordedAttempts);

    /// <summary>Whether a heal of the resource runs, or awaits its verdict, or has timed out but not ended.</summary>
    public bool IsBusy(string resource)
    {
        lock (_busy)
        {
            return _busy.ContainsKey(resource);
        }
    }

    /// <summary>Starts a heal in the background; the resource is busy from now until <see cref="ReleaseAsync"/> has completed.</summary>
    public HealExecution Start(ActiveViolation violation, IHealer healer, HealPolicy policy, HealContext context, DateTimeOffset now)
    {
        var execution = new HealExecution(violation, healer, policy, context, now);
        lock (_busy)
        {
            _busy[execution.Resource] = execution;
        }

        if (!policy.DryRun)
        {
            Interlocked.Increment(ref _unrecordedAttempts);
        }

        // Called inside the tick's span: the heal's span links to it (see ActAsync).
        var chosenBy = Activity.Current?.Context ?? default;
        execution.Completion = Track(Task.Run(() => RunAsync(execution, chosenBy), CancellationToken.None));
        return execution;
    }

    /// <summary>Takes the next heal whose outcome is known and not yet applied to its violation.</summary>
    public bool TryTakeCompleted(out HealExecution execution) => _completed.TryDequeue(out execution!);

    /// <summary>
    /// Ends a heal after its verdict (or at once when it failed, skipped or only planned): when the healer's task has
    /// ended, the lease is released and the resource is free again. When the healer has already ended (the usual case)
    /// the returned task completes once the lease is returned, so the caller's next decision sees the resource free;
    /// when it still runs (it outlived its timeout) the release waits for it in the background.
    /// </summary>
    public Task ReleaseAsync(HealExecution execution)
    {
        var release = Track(ReleaseCoreAsync(execution));
        execution.Released = release;
        return execution.HealerEnded.IsCompleted ? release : Task.CompletedTask;
    }

    /// <summary>Completes when the resource is free (its heal released); for tests of heals that outlive their tick.</summary>
    internal Task WhenFreeAsync(string resource)
    {
        lock (_busy)
        {
            return _busy.TryGetValue(resource, out var execution) ? execution.Released ?? Task.CompletedTask : Task.CompletedTask;
        }
    }

    /// <summary>Writes a verdict (or any record) under the call deadline; a failing journal is logged, never thrown.</summary>
    public async Task WriteAsync(HealRecord record)
    {
        record = record with { Id = Guid.CreateVersion7(_time.GetUtcNow()) };
        try
        {
            await OutboundCall.RunAsync(_journal, token => _journal.RecordAsync(record, token), CallTimeout, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (HealLeaseLostException e)
        {
            // Fenced: a later holder of the resource's lease has written since; this late record must not count.
            _diagnostics.Logger.HealRecordFenced(record.Healer, record.Resource, record.LeaseToken ?? 0, e.Message);
        }
        catch (Exception e)
        {
            _diagnostics.JournalFailed("record a heal", e);
        }
    }

    /// <summary>Completes when every heal started so far has its outcome (tests use it to wait for background heals).</summary>
    internal Task WhenOutcomesKnownAsync()
    {
        lock (_busy)
        {
            return Task.WhenAll(_busy.Values.Select(e => e.Completion));
        }
    }

    /// <summary>Completes when the heal of the resource (if one runs) has its outcome (for tests).</summary>
    internal Task WhenOutcomeKnownAsync(string resource)
    {
        lock (_busy)
        {
            return _busy.TryGetValue(resource, out var execution) ? execution.Completion : Task.CompletedTask;
        }
    }

    /// <summary>Cancels running heals (they are journaled as cancelled) and waits for their records, within <paramref name="cancellationToken"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);

        Task[] pending;
        lock (_inFlight)
        {
            pending = [.. _inFlight];
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ended the wait: a healer that ignores its token is left behind.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CallTimeout, _time);
        // _stopping is not disposed: a healer that outlived its timeout may still hold its token (it owns no timer).
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    private async Task RunAsync(HealExecution execution, ActivityContext chosenBy)
    {
        var started = _time.GetTimestamp();
        HealOutcome outcome;
        var scope = _scopes?.CreateAsyncScope();
        try
        {
            if (scope is { } s)
            {
                execution.Context.Services = s.ServiceProvider;
            }

            outcome = execution.Policy.DryRun ? await PlanAsync(execution).ConfigureAwait(false) : await ActAsync(execution, chosenBy).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            outcome = HealOutcome.Failed(SecretScrubber.Describe(e));
        }
        finally
        {
            if (scope is { } s)
            {
                // The scope lives as long as the healer's task: a healer that outlived its timeout keeps its services.
                _ = DisposeScopeAfterAsync(s, execution.HealerEnded);
            }
        }

        execution.Finish(Normalize(outcome), _time.GetUtcNow(), _time.GetElapsedTime(started));
        var record = new HealRecord(execution.Healer.Name, execution.Resource, execution.Context.Rule, execution.StartedAt, execution.Outcome.Kind, execution.Outcome.Reason)
        {
            Replica = Replica,
            LeaseToken = execution.Lease?.FencingToken,
        };
        execution.Record = record;
        await WriteAsync(record).ConfigureAwait(false);
        if (!execution.Policy.DryRun)
        {
            Interlocked.Decrement(ref _unrecordedAttempts);
        }

        _diagnostics.HealReturned(execution);
        _completed.Enqueue(execution);
    }

    private async Task<HealOutcome> PlanAsync(HealExecution execution)
    {
        // Dry-run never calls the act method: it reports the healer's plan (a call into user code, so under a deadline).
        try
        {
            var plan = await OutboundCall.RunAsync(_ => ValueTask.FromResult(execution.Healer.DescribePlan(execution.Context)),
                CallTimeout, _time, _stopping.Token).ConfigureAwait(false);
            return HealOutcome.DryRun(SecretScrubber.Scrub(plan));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealOutcome.DryRun($"run {execution.Healer.Name} on {execution.Resource} (its plan could not be described: {SecretScrubber.Describe(e)})");
        }
    }

    private async Task<HealOutcome> ActAsync(HealExecution execution, ActivityContext chosenBy)
    {
        var healer = execution.Healer;
        var policy = execution.Policy;
        if (healer.Scope == HealScope.SharedResource)
        {
            IHealLeaseHandle? lease;
            try
            {
                lease = await OutboundCall.RunAsync(_lease, token => _lease.TryAcquireAsync(execution.Resource, policy.Timeout + policy.VerifyWithin, token),
                    CallTimeout, _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                execution.NotStarted = true;
                return HealOutcome.Skipped("the host is stopping; not started");
            }
            catch (Exception e)
            {
                // No lease, no heal of a shared resource: another replica may be healing it.
                execution.NotStarted = true;
                return HealOutcome.Skipped($"the shared-resource lease could not be taken ({SecretScrubber.Describe(e)}); not healed");
            }

            if (lease is null)
            {
                execution.NotStarted = true;
                _diagnostics.LeaseHeld(execution);
                return HealOutcome.Skipped("the shared-resource lease is held by another replica");
            }

            execution.Lease = lease;
            execution.Context.FencingToken = lease.FencingToken;
        }

        _diagnostics.HealStarted(execution);
        // A heal outlives the tick that chose it, so its span is not the tick's child but a root of its own with a link to
        // that tick (as a consumer's span links to its producer's): the tick's trace stays short and the heal's stays whole.
        Activity.Current = null;
        using var activity = ReconciliationActivitySource.Instance.StartActivity("reconciliation.heal", ActivityKind.Internal,
            parentContext: default, links: chosenBy == default ? null : [new ActivityLink(chosenBy)]);
        activity?.SetTag("reconciliation.healer", healer.Name);
        activity?.SetTag("reconciliation.resource", execution.Resource);
        activity?.SetTag("reconciliation.rule", execution.Context.Rule);

        // The timer exists before the healer is called, and the wait ends when it fires even if the healer ignores its token.
        using var timeout = new CancellationTokenSource(policy.Timeout, _time);
        // A lost lease cancels the healer too: from then on another holder may act on the resource.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, timeout.Token, execution.Lease?.Lost ?? CancellationToken.None);
        var token = linked.Token;
        var run = Task.Run(() => healer.HealAsync(execution.Context, token).AsTask(), CancellationToken.None);
        execution.HealerEnded = run;
        HealOutcome outcome;
        try
        {
            outcome = await run.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            OutboundCall.Observe(run);
            outcome = HealOutcome.Failed(
                timeout.IsCancellationRequested ? $"timed out after {policy.Timeout}"
                : execution.Lease?.Lost.IsCancellationRequested == true ? LostReason(execution.Lease)
                : "cancelled: the host is stopping");
        }
        catch (Exception e)
        {
            outcome = HealOutcome.Failed(SecretScrubber.Describe(e));
        }

        if (outcome.Kind == HealOutcomeKind.Failed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.Reason);
        }

        activity?.SetTag("reconciliation.outcome", outcome.Kind.ToString());
        return outcome;
    }

    private static string LostReason(IHealLeaseHandle lease) =>
        lease is RenewingLeaseHandle { LostReason: { } reason } ? reason : "the lease was lost";

    /// <summary>Scrubs the reason, and reads an undefined kind (<c>default(HealOutcome)</c>) as a failure, never a success.</summary>
    private static HealOutcome Normalize(HealOutcome outcome)
    {
        var reason = outcome.Reason is null ? null : SecretScrubber.Scrub(outcome.Reason);
        return outcome.Kind switch
        {
            HealOutcomeKind.Healed => HealOutcome.Healed(reason),
            HealOutcomeKind.Failed => HealOutcome.Failed(reason ?? "failed"),
            HealOutcomeKind.Skipped => HealOutcome.Skipped(reason ?? "skipped"),
            HealOutcomeKind.DryRun => HealOutcome.DryRun(reason ?? string.Empty),
            _ => HealOutcome.Failed($"the healer returned no outcome (default(HealOutcome)) or one only the journal uses ({outcome.Kind}); counted as failed"),
        };
    }

    private async Task ReleaseCoreAsync(HealExecution execution)
    {
        try
        {
            await execution.HealerEnded.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its outcome was already recorded; here only its end matters.
        }

        if (execution.Lease is { } lease)
        {
            try
            {
                await OutboundCall.RunAsync(lease, _ => lease.DisposeAsync(), CallTimeout, _time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The lease expires by itself at its TTL.
                _diagnostics.JournalFailed("release a lease", e);
            }
        }

        lock (_busy)
        {
            if (_busy.TryGetValue(execution.Resource, out var current) && ReferenceEquals(current, execution))
            {
                _busy.Remove(execution.Resource);
            }
        }
    }

    private static async Task DisposeScopeAfterAsync(AsyncServiceScope scope, Task healer)
    {
        try
        {
            await healer.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Observed by the executor.
        }

        await scope.DisposeAsync().ConfigureAwait(false);
    }

    private Task Track(Task task)
    {
        if (task.IsCompleted)
        {
            return task;
        }

        lock (_inFlight)
        {
            _inFlight.Add(task);
        }

        _ = task.ContinueWith((t, state) =>
        {
            var set = (HashSet<Task>)state!;
            lock (set)
            {
                set.Remove(t);
            }
        }, _inFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }
}
