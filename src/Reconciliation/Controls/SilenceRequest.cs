namespace Reconciliation;

/// <summary>A request to silence healing: what to match, for how long, who asks and why.</summary>
public sealed record SilenceRequest
{
    /// <summary>The rule name or glob to match, or <see langword="null"/> for every rule.</summary>
    public string? Rule { get; init; }

    /// <summary>The resource name or glob to match, or <see langword="null"/> for every resource.</summary>
    public string? Resource { get; init; }

    /// <summary>The healer name or glob to match, or <see langword="null"/> for every healer.</summary>
    public string? Healer { get; init; }

    /// <summary>When it starts; <see langword="null"/> for now.</summary>
    public DateTimeOffset? StartsAt { get; init; }

    /// <summary>When it ends. Give this or <see cref="Duration"/>.</summary>
    public DateTimeOffset? EndsAt { get; init; }

    /// <summary>How long it holds from its start. Give this or <see cref="EndsAt"/>.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Who asks (required).</summary>
    public required string Owner { get; init; }

    /// <summary>Why (required).</summary>
    public required string Reason { get; init; }
}
