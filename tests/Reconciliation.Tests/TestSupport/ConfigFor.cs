using System.Globalization;

namespace Reconciliation.Tests.TestSupport;

/// <summary>Builds in-memory configuration entries under the <c>Reconciliation</c> section.</summary>
internal static class ConfigFor
{
    public const string Section = "Reconciliation";

    /// <summary>A valid base: Interval 10 s, no warm-up, rule <paramref name="rule"/> on <paramref name="signal"/> Above <paramref name="above"/>.</summary>
    public static Dictionary<string, string?> Rule(string rule, string signal, double above, double? clear = null, params string[] heal)
    {
        var data = new Dictionary<string, string?>
        {
            [$"{Section}:Interval"] = "00:00:10",
            [$"{Section}:WarmUp"] = "00:00:00",
            [$"{Section}:Rules:{rule}:Signal"] = signal,
            [$"{Section}:Rules:{rule}:Above"] = Format(above),
        };
        if (clear is double c)
        {
            data[$"{Section}:Rules:{rule}:Clear"] = Format(c);
        }

        for (var i = 0; i < heal.Length; i++)
        {
            data[$"{Section}:Rules:{rule}:Heal:{i}"] = heal[i];
        }

        return data;
    }

    public static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
