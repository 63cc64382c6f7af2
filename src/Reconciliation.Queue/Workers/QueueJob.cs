using Npgsql;

namespace Reconciliation.Queue.Workers;

/// <summary>A job as a handler sees it: its payload, its attempt, and the means to complete it inside the handler's own transaction.</summary>
/// <typeparam name="TPayload">The payload type.</typeparam>
public sealed class QueueJob<TPayload>
{
    private readonly IJobQueue _queue;
    private int _completed;

    internal QueueJob(IJobQueue queue, JobLease lease, TPayload payload)
    {
        _queue = queue;
        Lease = lease;
        Payload = payload;
    }

    /// <summary>The payload.</summary>
    public TPayload Payload { get; }

    /// <summary>The lease (id, token, attempt).</summary>
    public JobLease Lease { get; }

    /// <summary>The job's id.</summary>
    public long Id => Lease.Id;

    /// <summary>This run's attempt number, from 1. Greater than 1 means an earlier run failed or was lost: check for its effects.</summary>
    public int Attempt => Lease.Attempt;

    /// <summary>True once <see cref="CompleteWithinAsync"/> has completed the job (the worker then does not complete it again).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) == 1;

    /// <summary>
    /// Completes the job inside <paramref name="transaction"/>, so the handler's writes and the completion commit or roll
    /// back together (effectively exactly-once effects). When it returns <see langword="false"/> the lease is stale: the job
    /// was requeued, someone else owns it now, and the handler must roll <paramref name="transaction"/> back.
    /// </summary>
    public async Task<bool> CompleteWithinAsync(NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        var completed = await _queue.CompleteAsync(Lease, transaction, cancellationToken).ConfigureAwait(false);
        if (completed)
        {
            Volatile.Write(ref _completed, 1);
        }

        return completed;
    }
}
