using Microsoft.Extensions.DependencyInjection;

namespace Reconciliation.Queue;

internal sealed class JobQueueFactory(IServiceProvider services) : IJobQueueFactory
{
    public IJobQueue GetQueue(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return services.GetKeyedService<IJobQueue>(name)
            ?? throw new InvalidOperationException($"No queue named '{name}' is registered; call AddPostgresQueue(\"{name}\") on the reconciliation builder.");
    }
}
