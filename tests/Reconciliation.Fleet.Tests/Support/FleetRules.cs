namespace Reconciliation.Fleet.Tests.Support;

/// <summary>Rules files for the fault-file resources (<c>shared</c>: one resource every replica sees; <c>local</c>: each replica's own).</summary>
internal static class FleetRules
{
    public const string SharedRule = "shared-fault";
    public const string LocalRule = "local-fault";
    public const string Hang = "fleet.hang";
    public const string Local = "fleet.local";

    /// <summary>
    /// <c>shared-fault</c> healed by <c>fleet.hang</c> (under the fleet's lease) and, when <paramref name="localHealer"/> is
    /// given, <c>local-fault</c> healed by it. Short cooldowns and backoffs; a heal budget that never binds.
    /// </summary>
    public static string Json(string? localHealer = null, string hangPolicy = """{ "Cooldown": "00:00:00.500", "MaxBackoff": "00:00:01", "MaxAttempts": 1000, "Timeout": "00:01:30" }""",
        string localPolicy = """{ "Cooldown": "00:00:01", "MaxBackoff": "00:00:02", "MaxAttempts": 1000 }""", string extra = "")
    {
        var local = localHealer is null ? string.Empty : $$"""
            , "{{LocalRule}}": { "Signal": "fleet.fault", "Resource": "local", "Above": 0.5, "Heal": [ "{{localHealer}}" ] }
            """;
        var localPolicyEntry = localHealer is null ? string.Empty : $$""", "{{localHealer}}": {{localPolicy}}""";
        return $$"""
            {
              "Reconciliation": {
                {{extra}}
                "HealBudget": { "MaxHeals": 100000 },
                "Rules": {
                  "{{SharedRule}}": { "Signal": "fleet.fault", "Resource": "shared", "Above": 0.5, "Heal": [ "{{Hang}}" ] }
                  {{local}}
                },
                "Healers": { "{{Hang}}": {{hangPolicy}}{{localPolicyEntry}} }
              }
            }
            """;
    }
}
