namespace Reconciliation;

/// <summary>An operator's pause of all healing (detection goes on).</summary>
/// <param name="By">Who paused.</param>
/// <param name="Reason">Why.</param>
/// <param name="Since">Since when.</param>
/// <param name="Until">Until when, or <see langword="null"/> until resumed.</param>
public sealed record HealingPause(string By, string Reason, DateTimeOffset Since, DateTimeOffset? Until)
{
    /// <summary>True when it holds at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now) => Since <= now && (Until is null || now < Until);
}
