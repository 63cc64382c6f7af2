using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// <c>postgres.clear-pool</c>: <c>NpgsqlDataSource.Clear()</c> on this app's pool. Idle connections are closed now, busy
/// ones when they are returned, so the pool reconnects with fresh physical connections (after a failover, a network
/// blip, a server restart). Local to this process; it does not free connections the app still holds (a leak).
/// </summary>
internal sealed class PostgresClearPoolHealer : IHealer
{
    private readonly PostgresResource _resource;

    public PostgresClearPoolHealer(PostgresResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _resource = resource;
    }

    /// <inheritdoc />
    public string Name => PostgresHealerNames.ClearPool;

    /// <inheritdoc />
    public bool IsDestructive => false;

    /// <inheritdoc />
    public HealScope Scope => HealScope.Process;

    /// <inheritdoc />
    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public string DescribePlan(HealContext context) =>
        $"clear the Npgsql connection pool of {_resource.Name} in this process (idle connections closed now, busy ones when returned)";

    /// <inheritdoc />
    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        _resource.DataSource.Clear();
        _resource.Logger.PoolCleared(_resource.Name);
        return ValueTask.FromResult(HealOutcome.Healed("cleared the Npgsql connection pool"));
    }
}
