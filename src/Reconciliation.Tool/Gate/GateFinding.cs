namespace Reconciliation.Tool.Gate;

/// <summary>One thing that keeps the gate from passing (or, with <c>--allow-degraded</c>, a Degraded one reported only).</summary>
/// <param name="Kind"><c>violation</c> (open), <c>breaching</c> (past its limit, its <c>For</c> not yet elapsed), <c>probe-failed</c> or <c>migration-gate</c>.</param>
/// <param name="Rule">The rule, for violations and breaches.</param>
/// <param name="Resource">The resource.</param>
/// <param name="Signal">The signal, for violations and breaches.</param>
/// <param name="Value">The last value seen.</param>
/// <param name="Limit">The rule's limit.</param>
/// <param name="Direction"><c>above</c> or <c>below</c>.</param>
/// <param name="Severity"><c>Degraded</c> or <c>Unhealthy</c>.</param>
/// <param name="State">The violation's state (<c>Open</c>, <c>Healing</c>, <c>Exhausted</c>), <c>Pending</c> for a breach, else <c>-</c>.</param>
/// <param name="Since">When the violation opened.</param>
/// <param name="Detail">The reason, for probe failures and the migration gate (scrubbed of secrets).</param>
/// <param name="Blocking">False only for Degraded findings under <c>--allow-degraded</c>.</param>
internal sealed record GateFinding(string Kind, string? Rule, string Resource, string? Signal, double? Value, double? Limit, string? Direction,
    string Severity, string State, DateTimeOffset? Since, string? Detail, bool Blocking)
{
    /// <summary>One line: what is wrong, where.</summary>
    public string Describe() => Kind switch
    {
        "violation" or "breaching" => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"rule {Rule} on {Resource}: {Signal} = {Format(Value)} ({Direction} {Format(Limit)}), {State}, {Severity}"),
        "probe-failed" => $"probe on {Resource} failed: {Detail}",
        _ => $"migration gate on {Resource}: {Detail}",
    };

    /// <summary>A value as the table and messages show it: three decimals, or three significant digits when smaller.</summary>
    public static string Format(double? value) => value switch
    {
        null => "-",
        double v when v != 0 && Math.Abs(v) < 0.001 => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
        double v => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
    };
}
