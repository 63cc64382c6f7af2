using Npgsql;

namespace Reconciliation.Sample.Orders.Orders;

/// <summary>Creates the orders table at start (idempotent).</summary>
internal sealed class OrdersSchema(NpgsqlDataSource dataSource) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            CREATE TABLE IF NOT EXISTS orders (
                id bigserial PRIMARY KEY,
                customer text NOT NULL,
                total numeric(12, 2) NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now())
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
