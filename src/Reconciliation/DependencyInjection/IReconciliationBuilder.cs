using Reconciliation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddStateReconciliation</c>; adapters add their probes and healers through extension methods on it.</summary>
public interface IReconciliationBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}

internal sealed class ReconciliationBuilder(IServiceCollection services) : IReconciliationBuilder
{
    public IServiceCollection Services { get; } = services;
}
