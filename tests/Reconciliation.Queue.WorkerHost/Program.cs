using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Queue.Workers;

// A worker process for the chaos test. Configuration comes from the environment (never the command line, where a
// password would show in the process list): QUEUE_CHAOS_CONNECTION, QUEUE_CHAOS_QUEUE.
var connectionString = Environment.GetEnvironmentVariable("QUEUE_CHAOS_CONNECTION")
    ?? throw new InvalidOperationException("QUEUE_CHAOS_CONNECTION is not set.");
var queue = Environment.GetEnvironmentVariable("QUEUE_CHAOS_QUEUE") ?? "chaos_mp";

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
builder.Services.AddStateReconciliation(o => o.Enabled = false)
    .AddPostgresQueue(queue, o =>
    {
        o.VisibilityTimeout = TimeSpan.FromSeconds(2);
        o.RescueInterval = TimeSpan.FromMilliseconds(500);
        o.MaxAttempts = 1000;
    })
    .AddQueueWorker<EffectHandler, ChaosJob>(queue, o =>
    {
        o.Concurrency = 8;
        o.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
    });
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("ready");
await host.WaitForShutdownAsync();

/// <summary>The chaos job's payload.</summary>
[Reconciliation.Queue.JobKind("chaos")]
internal sealed record ChaosJob(int Number);

/// <summary>
/// Writes the job's side effect (a row with a unique job id) and completes the job in the same transaction: either both
/// commit or neither does. A second effect for one job would violate the unique constraint; it is recorded, never hidden.
/// </summary>
internal sealed class EffectHandler(NpgsqlDataSource dataSource) : IJobHandler<ChaosJob>
{
    public async Task HandleAsync(QueueJob<ChaosJob> job, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using (var effect = new NpgsqlCommand("INSERT INTO chaos_effects (job_id) VALUES (@id)", connection, transaction))
            {
                effect.Parameters.AddWithValue("id", job.Id);
                await effect.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await transaction.RollbackAsync(CancellationToken.None);
            await using var duplicate = dataSource.CreateCommand("INSERT INTO chaos_duplicates (job_id) VALUES (@id)");
            duplicate.Parameters.AddWithValue("id", job.Id);
            await duplicate.ExecuteNonQueryAsync(CancellationToken.None);
            throw;
        }

        if (await job.CompleteWithinAsync(transaction, cancellationToken))
        {
            await transaction.CommitAsync(cancellationToken);
        }
    }
}
