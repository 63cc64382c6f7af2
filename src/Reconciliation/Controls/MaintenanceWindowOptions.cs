namespace Reconciliation;

/// <summary>
/// A recurring time interval that mutes healing (<c>Reconciliation:MaintenanceWindows:&lt;name&gt;</c>), in the shape of
/// Alertmanager's <c>time_intervals</c>: it holds when every field that is set matches the local time in
/// <see cref="TimeZone"/>. Violations are still detected and reported while it holds.
/// </summary>
public sealed class MaintenanceWindowOptions
{
    /// <summary>Times of day (<c>22:00</c> to <c>02:00</c>; an end before its start runs past midnight into the next day). Unset: all day.</summary>
    public IList<TimeRangeOptions> Times { get; } = new List<TimeRangeOptions>();

    /// <summary>Weekdays or ranges (<c>saturday</c>, <c>monday:friday</c>). A time range that runs past midnight belongs to the day it starts on. Unset: every day.</summary>
    public IList<string> Weekdays { get; } = new List<string>();

    /// <summary>Days of the month or ranges (<c>1</c>, <c>1:7</c>; negative counts from the month's end, <c>-1</c> the last day). Unset: every day.</summary>
    public IList<string> DaysOfMonth { get; } = new List<string>();

    /// <summary>Months or ranges (<c>december</c>, <c>1:3</c>). Unset: every month.</summary>
    public IList<string> Months { get; } = new List<string>();

    /// <summary>The IANA or Windows time zone the times are in (<c>Europe/Berlin</c>). Default UTC.</summary>
    public string? TimeZone { get; set; }

    /// <summary>The rule name or glob it mutes; unset for every rule.</summary>
    public string? Rule { get; set; }

    /// <summary>The resource name or glob it mutes; unset for every resource.</summary>
    public string? Resource { get; set; }

    /// <summary>The healer name or glob it mutes; unset for every healer.</summary>
    public string? Healer { get; set; }
}
