namespace Reconciliation.Queue;

/// <summary>Resolves the queues registered with <c>AddPostgresQueue</c> by name (they are also keyed services: <c>[FromKeyedServices("emails")] IJobQueue</c>).</summary>
public interface IJobQueueFactory
{
    /// <summary>The queue registered under <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">No queue has that name.</exception>
    IJobQueue GetQueue(string name);
}
