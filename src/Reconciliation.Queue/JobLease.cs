using System.Text.Json;

namespace Reconciliation.Queue;

/// <summary>
/// A dequeued job and the lease on it. Only the holder of <see cref="Token"/> can complete, fail, heartbeat or release
/// the job; once the lease is lost (the job was requeued as stuck) every one of those calls answers <see langword="false"/>.
/// </summary>
public sealed class JobLease
{
    internal JobLease(string queue, long id, Guid token, int attempt, int maxAttempts, string payload, DateTimeOffset enqueuedAt, DateTimeOffset leasedUntil,
        string kind = "", short priority = 0)
    {
        Queue = queue;
        Id = id;
        Token = token;
        Attempt = attempt;
        MaxAttempts = maxAttempts;
        Payload = payload;
        EnqueuedAt = enqueuedAt;
        LeasedUntil = leasedUntil;
        Kind = kind;
        Priority = priority;
    }

    /// <summary>The queue's name.</summary>
    public string Queue { get; }

    /// <summary>The job's id.</summary>
    public long Id { get; }

    /// <summary>The lease token: proof that this worker, and only this one, holds the job now.</summary>
    public Guid Token { get; }

    /// <summary>This run's attempt number, from 1.</summary>
    public int Attempt { get; }

    /// <summary>The attempts the job has before it is dead-lettered.</summary>
    public int MaxAttempts { get; }

    /// <summary>The payload as stored (JSON).</summary>
    public string Payload { get; }

    /// <summary>When the job was enqueued (database clock).</summary>
    public DateTimeOffset EnqueuedAt { get; }

    /// <summary>When the lease expires unless heartbeated (database clock, as of the dequeue).</summary>
    public DateTimeOffset LeasedUntil { get; }

    /// <summary>The job's kind (which payload type's worker runs it).</summary>
    public string Kind { get; }

    /// <summary>The job's priority (lower runs first).</summary>
    public short Priority { get; }

    /// <summary>Reads the payload as <typeparamref name="T"/>.</summary>
    /// <exception cref="JsonException">The payload is not a <typeparamref name="T"/>.</exception>
    public T Deserialize<T>(JsonSerializerOptions? options = null)
    {
        var value = JsonSerializer.Deserialize<T>(Payload, options ?? JsonSerializerOptions.Web);
        return value is null ? throw new JsonException($"The payload of job {Id} is null, not a {typeof(T).Name}.") : value;
    }
}
