namespace Reconciliation.BuiltIn;

/// <summary>The pure decisions of <c>app.restart</c>'s crash-loop breaker and fleet guard, from journaled restart times.</summary>
internal static class AppRestartGuard
{
    /// <summary>How many past restarts the healer reads to judge the breaker.</summary>
    public const int MaxTimesRead = 200;

    /// <summary>
    /// The crash-loop breaker: open when some <paramref name="restarts"/> (this replica's, newest first) of
    /// <c>CrashLoopRestarts</c> in a row lie within <c>CrashLoopWindow</c> and the last of them is less than
    /// <c>CrashLoopPause</c> ago. Returns when it closes again, or <see langword="null"/> when it is closed.
    /// </summary>
    public static DateTimeOffset? CrashLoopPausedUntil(IReadOnlyList<DateTimeOffset> restarts, AppRestartOptions options, DateTimeOffset now)
    {
        var k = options.CrashLoopRestarts;
        for (var newest = 0; newest + k - 1 < restarts.Count; newest++)
        {
            var until = restarts[newest] + options.CrashLoopPause;
            if (until <= now)
            {
                break; // older runs ended their pause even earlier
            }

            if (restarts[newest] - restarts[newest + k - 1] <= options.CrashLoopWindow)
            {
                return until;
            }
        }

        return null;
    }

    /// <summary>The fleet guard: when <paramref name="fleetRestarts"/> (newest first, within the window) reached the limit, when the oldest leaves it.</summary>
    public static DateTimeOffset? FleetGuardUntil(IReadOnlyList<DateTimeOffset> fleetRestarts, AppRestartOptions options) =>
        fleetRestarts.Count >= options.MaxFleetRestarts && fleetRestarts.Count > 0
            ? fleetRestarts[options.MaxFleetRestarts - 1] + options.FleetWindow
            : null;
}
