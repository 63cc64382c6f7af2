namespace Reconciliation.Queue.Recurring;

/// <summary>Options of one recurring (cron) job (<c>AddRecurringJob</c>).</summary>
public sealed class RecurringJobOptions
{
    /// <summary>The time zone the cron expression is read in. Default UTC.</summary>
    public TimeZoneInfo TimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>The expression has a seconds field (six fields instead of five). Default false.</summary>
    public bool IncludeSeconds { get; set; }

    /// <summary>The priority of each enqueued job (lower runs first). Default 0.</summary>
    public short Priority { get; set; }

    /// <summary>Attempts of each enqueued job. Default: the queue's.</summary>
    public int? MaxAttempts { get; set; }
}
