namespace Reconciliation;

/// <summary>Internal constants of the probe runs.</summary>
internal static class ProbeDefaults
{
    /// <summary>
    /// The longest an <see cref="ProbeExecution.Inline"/> probe's call may take on the tick's thread before the probe is
    /// moved to the thread pool: a thousand times what reading memory takes, far below any probe timeout.
    /// </summary>
    public static readonly TimeSpan InlineCallLimit = TimeSpan.FromMilliseconds(10);
}
