using Xunit;

namespace Reconciliation.Samples.Tests;

/// <summary>
/// Test classes that run the orders sample in-process run one after another: Npgsql's metrics are process-wide and keyed
/// by the data source's name, and every instance of the sample names its pool "orders-db", so two at once would read
/// each other's pools (4 busy of 4 + 100 reads as 4 %, not saturated).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OrdersServiceInstances
{
    public const string Name = "orders-service";
}
