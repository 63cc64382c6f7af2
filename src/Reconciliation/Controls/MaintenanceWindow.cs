using System.Globalization;

namespace Reconciliation;

/// <summary>
/// A compiled <see cref="MaintenanceWindowOptions"/>: pure, so "is healing muted at this instant?" is tested as a table
/// (a window across midnight in a non-UTC zone, the last day of the month, a daylight-saving change).
/// </summary>
internal sealed class MaintenanceWindow
{
    private static readonly string[] DayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    private static readonly string[] MonthNames =
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    private readonly (int Start, int End)[] _times; // minutes of the day; End < Start runs past midnight
    private readonly bool[]? _weekdays;             // by DayOfWeek
    private readonly (int From, int To)[] _days;    // days of the month, negative from the end
    private readonly bool[]? _months;               // 1..12
    private readonly TimeZoneInfo _zone;

    private MaintenanceWindow(string name, MaintenanceWindowOptions options, TimeZoneInfo zone, (int, int)[] times, bool[]? weekdays, (int, int)[] days, bool[]? months)
    {
        Name = name;
        Rule = options.Rule;
        Resource = options.Resource;
        Healer = options.Healer;
        _zone = zone;
        _times = times;
        _weekdays = weekdays;
        _days = days;
        _months = months;
    }

    public string Name { get; }

    public string? Rule { get; }

    public string? Resource { get; }

    public string? Healer { get; }

    /// <summary>True when it mutes the rule's heals on the resource (a <see langword="null"/> healer: any healer).</summary>
    public bool Matches(string rule, string resource, string? healer) =>
        Glob.IsMatch(Rule, rule) && Glob.IsMatch(Resource, resource) && (Healer is null || healer is null || Glob.IsMatch(Healer, healer));

    /// <summary>True when the window holds at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, _zone).DateTime;
        var minute = (local.Hour * 60) + local.Minute;
        if (_times.Length == 0)
        {
            return DayMatches(local.Date);
        }

        foreach (var (start, end) in _times)
        {
            if (start < end ? minute >= start && minute < end && DayMatches(local.Date)
                : (minute >= start && DayMatches(local.Date)) || (minute < end && DayMatches(local.Date.AddDays(-1))))
            {
                // A range past midnight belongs to the day it started on: its early-morning part checks yesterday.
                return true;
            }
        }

        return false;
    }

    private bool DayMatches(DateTime date)
    {
        if (_weekdays is not null && !_weekdays[(int)date.DayOfWeek])
        {
            return false;
        }

        if (_months is not null && !_months[date.Month])
        {
            return false;
        }

        if (_days.Length == 0)
        {
            return true;
        }

        var length = DateTime.DaysInMonth(date.Year, date.Month);
        foreach (var (from, to) in _days)
        {
            var first = from < 0 ? length + from + 1 : from;
            var last = to < 0 ? length + to + 1 : to;
            if (date.Day >= first && date.Day <= last)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Compiles the window, adding one error per bad field, each naming its full key.</summary>
    public static MaintenanceWindow? Compile(string name, MaintenanceWindowOptions options, string key, List<string>? errors)
    {
        var start = errors?.Count ?? 0;
        errors ??= [];
        var zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrWhiteSpace(options.TimeZone) && !TimeZoneInfo.TryFindSystemTimeZoneById(options.TimeZone, out zone!))
        {
            errors.Add($"{key}:TimeZone: unknown time zone '{options.TimeZone}' (use an IANA name such as Europe/Berlin).");
            zone = TimeZoneInfo.Utc;
        }

        var times = new List<(int, int)>();
        for (var i = 0; i < options.Times.Count; i++)
        {
            var range = options.Times[i];
            var s = ParseTime(range.Start, allowEndOfDay: false);
            var e = ParseTime(range.End, allowEndOfDay: true);
            if (s is null || e is null || s == e)
            {
                errors.Add($"{key}:Times:{i}: Start and End must be different times HH:mm (End may be 24:00), got '{range.Start}' to '{range.End}'.");
                continue;
            }

            times.Add((s.Value, e.Value == 24 * 60 ? 0 : e.Value));
        }

        var weekdays = ParseSet(options.Weekdays, DayNames, 0, $"{key}:Weekdays", errors);
        var months = ParseSet(options.Months, MonthNames, 1, $"{key}:Months", errors);
        var days = new List<(int, int)>();
        for (var i = 0; i < options.DaysOfMonth.Count; i++)
        {
            var text = options.DaysOfMonth[i];
            var parts = text.Split(':');
            if (parts.Length is < 1 or > 2 || !TryDay(parts[0], out var from) || !TryDay(parts[^1], out var to))
            {
                errors.Add($"{key}:DaysOfMonth:{i}: '{text}' is not a day of the month (1..31, -1 the last) or a range 'from:to'.");
                continue;
            }

            days.Add((from, to));
        }

        return errors.Count > start ? null : new MaintenanceWindow(name, options, zone, [.. times], weekdays, [.. days], months);
    }

    private static bool TryDay(string text, out int day) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out day) && day != 0 && day is >= -31 and <= 31;

    private static int? ParseTime(string? text, bool allowEndOfDay)
    {
        if (text is null)
        {
            return null;
        }

        if (allowEndOfDay && text.Trim() == "24:00")
        {
            return 24 * 60;
        }

        return TimeOnly.TryParseExact(text.Trim(), ["HH:mm", "H:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? (time.Hour * 60) + time.Minute
            : null;
    }

    private static bool[]? ParseSet(IList<string> items, string[] names, int firstNumber, string key, List<string> errors)
    {
        if (items.Count == 0)
        {
            return null;
        }

        var set = new bool[names.Length + firstNumber];
        for (var i = 0; i < items.Count; i++)
        {
            var parts = items[i].Split(':');
            var from = parts.Length <= 2 ? Index(parts[0]) : -1;
            var to = parts.Length <= 2 ? Index(parts[^1]) : -1;
            if (from < 0 || to < 0)
            {
                errors.Add($"{key}:{i}: '{items[i]}' is not one of {string.Join(", ", names)} (or its number) or a range 'from:to'.");
                continue;
            }

            // A range may wrap (saturday:monday, november:february).
            for (var v = from; ; v = v == names.Length - 1 + firstNumber ? firstNumber : v + 1)
            {
                set[v] = true;
                if (v == to)
                {
                    break;
                }
            }
        }

        return set;

        int Index(string text)
        {
            text = text.Trim();
            var at = Array.FindIndex(names, n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            if (at >= 0)
            {
                return at + firstNumber;
            }

            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= firstNumber && number < names.Length + firstNumber
                ? number
                : -1;
        }
    }
}
