namespace Reconciliation;

/// <summary>
/// The global heal budget as a small breaker: closed while fewer than <c>MaxHeals</c> heals ran within <c>Window</c>;
/// open (healing paused) for <c>Pause</c> when one more would exceed it; after the pause it closes and counts afresh,
/// or with a window longer than the pause the heals from before the pause would open it again at once.
/// The count comes from the journal (so it is per fleet when the journal is shared); the pause itself is per process.
/// </summary>
internal sealed class HealBudgetController
{
    private DateTimeOffset? _pausedUntil;
    private DateTimeOffset? _countFrom;

    /// <summary>Healing is paused until this time, or null.</summary>
    public DateTimeOffset? PausedUntil => _pausedUntil;

    /// <summary>Puts back a pause saved before a restart (a restart must not end a pause early).</summary>
    public void Restore(DateTimeOffset pausedUntil) => _pausedUntil = pausedUntil;

    /// <summary>
    /// Whether healing is paused at <paramref name="now"/>. When a pause has just ended, closes the breaker and
    /// returns <see langword="false"/> with <paramref name="resumed"/> set.
    /// </summary>
    public bool IsPaused(DateTimeOffset now, out bool resumed)
    {
        resumed = false;
        if (_pausedUntil is not { } until)
        {
            return false;
        }

        if (now < until)
        {
            return true;
        }

        _pausedUntil = null;
        _countFrom = until;
        resumed = true;
        return false;
    }

    /// <summary>Where the count of recent heals starts: the window's start, or the end of the last pause if later.</summary>
    public DateTimeOffset CountFrom(DateTimeOffset now, HealBudgetOptions budget)
    {
        var since = now - budget.Window;
        return _countFrom is { } from && from > since ? from : since;
    }

    /// <summary>
    /// Judges one more heal given <paramref name="heals"/> already within the window (journal plus in flight plus due
    /// this tick). Returns <see langword="true"/> and opens the breaker when that would exceed the budget.
    /// </summary>
    public bool WouldExceed(DateTimeOffset now, int heals, HealBudgetOptions budget)
    {
        if (heals < budget.MaxHeals)
        {
            return false;
        }

        _pausedUntil = now + budget.Pause;
        return true;
    }
}
