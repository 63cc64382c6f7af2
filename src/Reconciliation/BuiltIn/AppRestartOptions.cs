namespace Reconciliation.BuiltIn;

/// <summary>
/// The limits of <c>app.restart</c> beyond its heal policy (<c>Reconciliation:AppRestart</c>). Both read the heal journal,
/// so they hold per fleet and survive restarts when the journal is shared and durable (PostgreSQL or Redis coordination),
/// and per process lifetime only with the default in-memory journal.
/// </summary>
public sealed class AppRestartOptions
{
    /// <summary>Fleet guard: restarts of any replica allowed within <see cref="FleetWindow"/>. Default 1.</summary>
    public int MaxFleetRestarts { get; set; } = 1;

    /// <summary>The window of the fleet guard. Default 10 minutes.</summary>
    public TimeSpan FleetWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Crash-loop breaker: after this many restarts of one replica within <see cref="CrashLoopWindow"/>, it pauses. Default 3.</summary>
    public int CrashLoopRestarts { get; set; } = 3;

    /// <summary>The window of the crash-loop breaker. Default 1 hour.</summary>
    public TimeSpan CrashLoopWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long the breaker keeps <c>app.restart</c> from acting once it opened, counted from the last restart. Default 3 hours.</summary>
    public TimeSpan CrashLoopPause { get; set; } = TimeSpan.FromHours(3);
}
