using Cronos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reconciliation.Queue.Telemetry;

namespace Reconciliation.Queue.Recurring;

/// <summary>
/// Enqueues one job per cron slot. Every replica that registers the recurring job runs its own scheduler (no leader): each
/// enqueues the slot with the idempotency key <c>recurring:&lt;name&gt;:&lt;slot, UTC, ISO 8601&gt;</c> and the queue's
/// unique index lets exactly one of them create it; the others get the existing job back. The slot's job runs at the slot's
/// time (<see cref="JobOptions.RunAt"/>) on the database's queue, wherever a worker is.
/// </summary>
internal sealed class RecurringJobScheduler<TPayload> : BackgroundService
{
    // Task.Delay takes at most ~49 days; longer waits are taken in steps.
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    private readonly PostgresJobQueue _queue;
    private readonly string _name;
    private readonly CronExpression _cron;
    private readonly Func<DateTimeOffset, TPayload> _payload;
    private readonly RecurringJobOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private DateTimeOffset? _next;
    private int _attempts;

    public RecurringJobScheduler(PostgresJobQueue queue, string name, CronExpression cron, Func<DateTimeOffset, TPayload> payload, RecurringJobOptions options,
        TimeProvider time, ILogger logger)
    {
        _queue = queue;
        _name = name;
        _cron = cron;
        _payload = payload;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The key of a slot's job.</summary>
    public static string KeyOf(string name, DateTimeOffset slot) => $"recurring:{name}:{slot.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}";

    /// <summary>Slots this scheduler has enqueued or found already enqueued (for tests).</summary>
    internal int Attempts => Volatile.Read(ref _attempts);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The first slot is fixed at start, so a clock that moves right after start does not skip it.
        _next = _cron.GetNextOccurrence(_time.GetUtcNow(), _options.TimeZone);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (_next is { } slot)
            {
                TimeSpan wait;
                while ((wait = slot - _time.GetUtcNow()) > TimeSpan.Zero)
                {
                    await Task.Delay(wait < MaxWait ? wait : MaxWait, _time, stoppingToken).ConfigureAwait(false);
                }

                await EnqueueSlotAsync(slot, stoppingToken).ConfigureAwait(false);
                _next = _cron.GetNextOccurrence(slot, _options.TimeZone);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task EnqueueSlotAsync(DateTimeOffset slot, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.EnqueueAsync(_payload(slot), new JobOptions
            {
                IdempotencyKey = KeyOf(_name, slot),
                RunAt = slot,
                Priority = _options.Priority,
                MaxAttempts = _options.MaxAttempts,
            }, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _attempts);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The slot is lost for this replica; another replica may still have enqueued it.
            Log.RecurringFailed(_logger, _queue.Name, _name, slot, SecretScrubber.Describe(e));
        }
    }
}
