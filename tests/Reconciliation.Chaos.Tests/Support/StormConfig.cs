using System.Globalization;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>
/// The storm's Reconciliation section (written to the host's reloadable rules file, on top of the orders sample's
/// appsettings.json) and the policy limits the end check holds every heal to. One place for both, so the check reads
/// the limits the host was given.
/// </summary>
internal static class StormConfig
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    public const int MaxPoolSize = 10;
    public const int HealBudget = 200;
    public static readonly TimeSpan HealBudgetWindow = TimeSpan.FromMinutes(5);

    /// <summary>The flap breaker's default (Reconciliation:Flapping:MaxOpens within 1 hour): the storm leaves it as it is.</summary>
    public const int FlappingMaxOpens = 10;

    /// <summary>MaxAttempts per Window, per resource, of each healer the storm can start (rule overrides included).</summary>
    public static readonly IReadOnlyDictionary<string, (int MaxAttempts, TimeSpan Window)> Limits = new Dictionary<string, (int, TimeSpan)>
    {
        ["chaos.heal"] = (2, TimeSpan.FromMinutes(1)),
        ["postgres.clear-pool"] = (10, TimeSpan.FromMinutes(10)),
        ["postgres.terminate-idle-in-transaction"] = (20, TimeSpan.FromMinutes(5)),
        ["redis.set-policy"] = (10, TimeSpan.FromMinutes(10)),
        ["queue.requeue-stuck"] = (20, TimeSpan.FromMinutes(10)),
        ["http.webhook"] = (5, TimeSpan.FromMinutes(5)),
        ["app.restart"] = (0, TimeSpan.FromMinutes(10)), // never: not allowed destructive, and the memory rule never breaches
    };

    /// <summary>The valid rules file.</summary>
    public static string Json(string interval = "00:00:01") => $$"""
        {
          "Reconciliation": {
            "Interval": "{{interval}}",
            "WarmUp": "00:00:00",
            "ProbeTimeout": "{{ProbeTimeout:c}}",
            "HealBudget": { "MaxHeals": {{HealBudget.ToString(CultureInfo.InvariantCulture)}}, "Window": "{{HealBudgetWindow:c}}", "Pause": "00:00:30" },
            "Rules": {
              "chaos-healer": {
                "Signal": "fleet.fault", "Above": 0, "For": "00:00:01", "Severity": "Degraded", "Heal": [ "chaos.heal" ],
                "Healers": { "chaos.heal": { "Timeout": "00:00:02", "Cooldown": "00:00:01", "MaxAttempts": 2, "Window": "00:01:00" } }
              },
              "workers-stuck": {
                "Signal": "queue.stuck", "Resource": "chaos_mp", "Above": 0, "For": "00:00:01", "Severity": "Degraded",
                "Heal": [ "queue.requeue-stuck" ]
              },
              "redis-memory": {
                "Signal": "redis.memory.usage", "Resource": "cache", "Above": 0.95, "Clear": 0.8, "For": "00:00:01", "Severity": "Degraded"
              },
              "pool-saturation": { "Healers": { "postgres.clear-pool": { "MaxAttempts": 10, "Window": "00:10:00" } } },
              "orders-latency": {
                "Healers": { "http.webhook": { "Cooldown": "00:00:05", "MaxAttempts": 5, "Window": "00:05:00", "VerifyWithin": "00:00:15" } }
              }
            },
            "Healers": {
              "postgres.clear-pool": { "MaxAttempts": 10, "Window": "00:10:00" },
              "postgres.terminate-idle-in-transaction": { "MaxAttempts": 20, "Window": "00:05:00" },
              "redis.set-policy": { "MaxAttempts": 10, "Window": "00:10:00" },
              "queue.requeue-stuck": { "MaxAttempts": 20, "Window": "00:10:00" }
            }
          }
        }
        """;

    /// <summary>An invalid reload: a negative interval (the host must reject it and keep running the valid one).</summary>
    public static string InvalidJson() => Json(interval: "-00:00:01");
}
