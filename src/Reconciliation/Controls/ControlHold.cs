namespace Reconciliation;

/// <summary>Which operator control holds a violation's heals back (checked before the heal policy is asked anything).</summary>
internal enum ControlHoldKind
{
    /// <summary>No control holds it.</summary>
    None,

    /// <summary>An operator paused all healing.</summary>
    Paused,

    /// <summary>A silence matches it.</summary>
    Silenced,

    /// <summary>A maintenance window matches it and holds now.</summary>
    MaintenanceWindow,

    /// <summary>A rule it names in <c>InhibitedBy</c> is open.</summary>
    Inhibited,

    /// <summary>Its rule opened too often: muted by the flap breaker.</summary>
    Flapping,

    /// <summary>Its approval mode is <see cref="ApprovalMode.Off"/>: detect and report only.</summary>
    ApprovalOff,
}

/// <summary>The control that holds a violation back, what it is called, and until when.</summary>
/// <param name="Kind">Which control.</param>
/// <param name="Name">The silence's id, the window's name, the inhibiting rule, or the pausing operator.</param>
/// <param name="Until">When it ends by itself, if it does.</param>
/// <param name="Detail">The silence's owner and reason, or the pause's reason.</param>
internal readonly record struct ControlHold(ControlHoldKind Kind, string? Name = null, DateTimeOffset? Until = null, string? Detail = null)
{
    public static ControlHold None => default;

    /// <summary>The words the report and the logs use.</summary>
    public string Describe() => Kind switch
    {
        ControlHoldKind.Paused => $"healing paused by {Name} ({Detail}){UntilText}",
        ControlHoldKind.Silenced => $"silenced by '{Name}' ({Detail}){UntilText}",
        ControlHoldKind.MaintenanceWindow => $"maintenance window '{Name}' holds",
        ControlHoldKind.Inhibited => $"inhibited: rule '{Name}' {Detail ?? "is open"}",
        ControlHoldKind.Flapping => $"flapping ({Detail}): heals muted{UntilText}",
        ControlHoldKind.ApprovalOff => "approval mode Off: detect and report only",
        _ => string.Empty,
    };

    private string UntilText => Until is { } until ? " until " + HealReasons.Format(until) : string.Empty;
}
