namespace Reconciliation;

/// <summary>A time-of-day range of a maintenance window: <see cref="Start"/> inclusive to <see cref="End"/> exclusive.</summary>
public sealed class TimeRangeOptions
{
    /// <summary>The start, <c>HH:mm</c>.</summary>
    public string? Start { get; set; }

    /// <summary>The end, <c>HH:mm</c> (<c>24:00</c> for midnight at the day's end). Before <see cref="Start"/>: past midnight.</summary>
    public string? End { get; set; }
}
