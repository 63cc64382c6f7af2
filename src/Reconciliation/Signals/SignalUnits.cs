namespace Reconciliation;

/// <summary>Units of standard signals (UCUM-style, as OpenTelemetry uses them).</summary>
public static class SignalUnits
{
    /// <summary>A ratio between 0 and 1.</summary>
    public const string Ratio = "1";

    /// <summary>Seconds.</summary>
    public const string Seconds = "s";

    /// <summary>Bytes.</summary>
    public const string Bytes = "By";

    /// <summary>A count of things.</summary>
    public const string Count = "{count}";

    /// <summary>Events per second.</summary>
    public const string PerSecond = "{event}/s";

    /// <summary>A flag: 1 (true) or 0 (false).</summary>
    public const string Flag = "{flag}";
}
