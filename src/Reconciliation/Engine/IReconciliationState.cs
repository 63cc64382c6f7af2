namespace Reconciliation;

/// <summary>
/// What the health check and the status page read of the engine (never by downcasting <see cref="IReconciler"/>).
/// </summary>
internal interface IReconciliationState
{
    /// <summary>The report of the last completed tick, or null before the first one.</summary>
    ReconciliationReport? LatestReport { get; }

    /// <summary>When the engine was created (the grace before a first report starts here).</summary>
    DateTimeOffset StartedAt { get; }

    /// <summary>When the last tick completed (its report was published), or null before the first one.</summary>
    DateTimeOffset? LastTickCompletedAt { get; }

    /// <summary>When the tick now running started, or null between ticks.</summary>
    DateTimeOffset? TickRunningSince { get; }

    /// <summary>The signals' last hour and the recent violation opens and closes, for the status page.</summary>
    SignalHistory History { get; }

    /// <summary>The options in force (the last valid configuration).</summary>
    ReconciliationOptions CurrentOptions { get; }
}
