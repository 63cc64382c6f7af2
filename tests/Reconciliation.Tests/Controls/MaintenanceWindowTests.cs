namespace Reconciliation.Tests.Controls;

/// <summary>Recurring maintenance windows as a table: time zones, midnight, weekdays, days of the month, daylight saving.</summary>
public sealed class MaintenanceWindowTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        // Saturday and Sunday 22:00 to 02:00 in Berlin (UTC+1 in winter, UTC+2 in summer).
        { "weekend-night", "2026-01-10T20:59:00Z", false }, // Sat 21:59 Berlin
        { "weekend-night", "2026-01-10T21:00:00Z", true },  // Sat 22:00 Berlin
        { "weekend-night", "2026-01-10T23:30:00Z", true },  // Sun 00:30 Berlin: past midnight, still Saturday's window
        { "weekend-night", "2026-01-11T00:59:00Z", true },  // Sun 01:59 Berlin
        { "weekend-night", "2026-01-11T01:00:00Z", false }, // Sun 02:00 Berlin: the end is exclusive
        { "weekend-night", "2026-01-11T23:30:00Z", true },  // Mon 00:30 Berlin: Sunday's window runs past midnight
        { "weekend-night", "2026-01-12T23:30:00Z", false }, // Tue 00:30 Berlin: Monday has no window
        { "weekend-night", "2026-01-09T21:30:00Z", false }, // Fri 22:30 Berlin
        { "weekend-night", "2026-07-11T20:30:00Z", true },  // Sat 22:30 Berlin in summer time (UTC+2)
        { "weekend-night", "2026-07-11T21:30:00Z", true },
        { "weekend-night", "2026-07-11T19:30:00Z", false }, // Sat 21:30 Berlin in summer
        // The last day of every month, all day, UTC.
        { "month-end", "2026-02-28T12:00:00Z", true },
        { "month-end", "2026-02-27T23:59:00Z", false },
        { "month-end", "2026-03-31T00:00:00Z", true },
        { "month-end", "2026-03-30T12:00:00Z", false },
        // Weekdays 09:00-17:00 in December and January (a range that wraps the year end), New York.
        { "office-winter", "2026-12-15T14:00:00Z", true },  // Tue 09:00 New York
        { "office-winter", "2026-12-15T13:59:00Z", false },
        { "office-winter", "2026-12-19T15:00:00Z", false }, // Saturday
        { "office-winter", "2027-01-05T21:59:00Z", true },  // Tue 16:59 New York
        { "office-winter", "2026-11-17T15:00:00Z", false }, // November
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Holds_exactly_inside_its_local_intervals(string window, string utc, bool expected)
    {
        var compiled = Compile(window);

        Assert.Equal(expected, compiled.IsActiveAt(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Bad_fields_fail_naming_their_full_keys()
    {
        var options = new MaintenanceWindowOptions { TimeZone = "Mars/Olympus" };
        options.Times.Add(new TimeRangeOptions { Start = "25:00", End = "02:00" });
        options.Weekdays.Add("funday");
        options.DaysOfMonth.Add("0");
        options.Months.Add("smarch:june");
        var errors = new List<string>();

        Assert.Null(MaintenanceWindow.Compile("w", options, "Reconciliation:MaintenanceWindows:w", errors));

        Assert.Collection(errors.Order(StringComparer.Ordinal),
            e => Assert.StartsWith("Reconciliation:MaintenanceWindows:w:DaysOfMonth:0:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("Reconciliation:MaintenanceWindows:w:Months:0:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("Reconciliation:MaintenanceWindows:w:TimeZone:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("Reconciliation:MaintenanceWindows:w:Times:0:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("Reconciliation:MaintenanceWindows:w:Weekdays:0:", e, StringComparison.Ordinal));
    }

    private static MaintenanceWindow Compile(string name)
    {
        var options = new MaintenanceWindowOptions();
        switch (name)
        {
            case "weekend-night":
                options.TimeZone = "Europe/Berlin";
                options.Weekdays.Add("saturday:sunday");
                options.Times.Add(new TimeRangeOptions { Start = "22:00", End = "02:00" });
                break;
            case "month-end":
                options.DaysOfMonth.Add("-1");
                break;
            case "office-winter":
                options.TimeZone = "America/New_York";
                options.Weekdays.Add("monday:friday");
                options.Months.Add("december:january");
                options.Times.Add(new TimeRangeOptions { Start = "09:00", End = "17:00" });
                break;
        }

        var errors = new List<string>();
        var window = MaintenanceWindow.Compile(name, options, "Reconciliation:MaintenanceWindows:" + name, errors);
        Assert.Empty(errors);
        return window!;
    }
}
