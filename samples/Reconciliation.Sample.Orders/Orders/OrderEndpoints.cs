using System.Text.Json;
using Npgsql;
using Reconciliation.Queue;
using Reconciliation.Sample.Orders.Faults;
using Reconciliation.Sample.Orders.Jobs;
using StackExchange.Redis;

namespace Reconciliation.Sample.Orders.Orders;

/// <summary>The business endpoints: create an order (row + confirmation job in one transaction), read one (cache-aside).</summary>
internal static class OrderEndpoints
{
    public sealed record NewOrder(string Customer, decimal Total);

    public sealed record Order(long Id, string Customer, decimal Total, DateTimeOffset CreatedAt);

    public static void MapOrders(this WebApplication app)
    {
        app.MapPost("/orders", async (NewOrder order, NpgsqlDataSource db, IJobQueueFactory queues, CancellationToken ct) =>
        {
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using var insert = new NpgsqlCommand("INSERT INTO orders (customer, total) VALUES ($1, $2) RETURNING id", connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter { Value = order.Customer });
            insert.Parameters.Add(new NpgsqlParameter { Value = order.Total });
            var id = (long)(await insert.ExecuteScalarAsync(ct))!;
            // The job commits with the order or not at all: no email for an order that was rolled back.
            await queues.GetQueue("emails").EnqueueAsync(transaction, new ConfirmationEmail(id, order.Customer), cancellationToken: ct);
            await transaction.CommitAsync(ct);
            return Results.Created($"/orders/{id}", new { id });
        });

        app.MapGet("/orders/{id:long}", async (long id, NpgsqlDataSource db, IConnectionMultiplexer redis, FaultSwitchboard faults, CancellationToken ct) =>
        {
            await faults.ApplyLatencyAsync(ct);
            var cache = redis.GetDatabase();
            var key = $"orders:{id}";
            var cached = await cache.StringGetAsync(key);
            if (cached.HasValue)
            {
                return Results.Text(cached.ToString(), "application/json");
            }

            await using var select = db.CreateCommand("SELECT id, customer, total, created_at FROM orders WHERE id = $1");
            select.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return Results.NotFound();
            }

            var json = JsonSerializer.Serialize(new Order(reader.GetInt64(0), reader.GetString(1), reader.GetDecimal(2), reader.GetFieldValue<DateTimeOffset>(3)));
            // SET can fail under maxmemory-policy noeviction when memory is full: the read still succeeds.
            try
            {
                await cache.StringSetAsync(key, json, TimeSpan.FromMinutes(5));
            }
            catch (RedisServerException)
            {
            }

            return Results.Text(json, "application/json");
        });
    }
}
