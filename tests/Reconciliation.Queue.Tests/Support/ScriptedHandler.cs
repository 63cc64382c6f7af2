using System.Collections.Concurrent;
using Reconciliation.Queue.Workers;

namespace Reconciliation.Queue.Tests.Support;

/// <summary>What the test's handler does, set by each test (a singleton the handler reads).</summary>
public sealed class HandlerScript
{
    public Func<QueueJob<WorkItem>, CancellationToken, Task> Run { get; set; } = static (_, _) => Task.CompletedTask;

    public ConcurrentDictionary<long, int> Executions { get; } = new();
}

/// <summary>The handler the tests register; it counts executions and runs the script.</summary>
public sealed class ScriptedHandler(HandlerScript script) : IJobHandler<WorkItem>
{
    public Task HandleAsync(QueueJob<WorkItem> job, CancellationToken cancellationToken)
    {
        script.Executions.AddOrUpdate(job.Id, 1, static (_, n) => n + 1);
        return script.Run(job, cancellationToken);
    }
}
