namespace Reconciliation;

/// <summary>A silence from configuration (<c>Reconciliation:Silences:&lt;id&gt;</c>); see <see cref="Silence"/>.</summary>
public sealed class SilenceOptions
{
    /// <summary>The rule name or glob it matches; unset for every rule.</summary>
    public string? Rule { get; set; }

    /// <summary>The resource name or glob it matches; unset for every resource.</summary>
    public string? Resource { get; set; }

    /// <summary>The healer name or glob it matches; unset for every healer.</summary>
    public string? Healer { get; set; }

    /// <summary>When it starts; unset for at once.</summary>
    public DateTimeOffset? StartsAt { get; set; }

    /// <summary>When it ends (required: a configured silence expires by itself like any other).</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>Who set it (required).</summary>
    public string? Owner { get; set; }

    /// <summary>Why (required).</summary>
    public string? Reason { get; set; }
}
