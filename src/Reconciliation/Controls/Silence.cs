namespace Reconciliation;

/// <summary>
/// A silence: while it is active, violations it matches are detected and reported but not healed. It matches by rule,
/// resource and healer, each exact or a glob (<c>*</c> any run of characters, <c>?</c> one); a field left
/// <see langword="null"/> matches everything. It ends by itself at <see cref="EndsAt"/>.
/// </summary>
public sealed record Silence
{
    /// <summary>Its id: the configuration key's name for a configured silence, a generated id otherwise.</summary>
    public required string Id { get; init; }

    /// <summary>The rule name or glob it matches, or <see langword="null"/> for every rule.</summary>
    public string? Rule { get; init; }

    /// <summary>The resource name or glob it matches, or <see langword="null"/> for every resource.</summary>
    public string? Resource { get; init; }

    /// <summary>The healer name or glob it matches, or <see langword="null"/> for every healer.</summary>
    public string? Healer { get; init; }

    /// <summary>When it starts to hold.</summary>
    public required DateTimeOffset StartsAt { get; init; }

    /// <summary>When it ends by itself.</summary>
    public required DateTimeOffset EndsAt { get; init; }

    /// <summary>Who set it (a person or team to ask).</summary>
    public required string Owner { get; init; }

    /// <summary>Why.</summary>
    public required string Reason { get; init; }

    /// <summary>True for a silence from configuration (changed only by editing configuration).</summary>
    public bool FromConfiguration { get; init; }

    /// <summary>True when it holds at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now) => StartsAt <= now && now < EndsAt;

    /// <summary>True when it matches the rule, the resource and the healer (a <see langword="null"/> healer: any healer of the rule).</summary>
    public bool Matches(string rule, string resource, string? healer) =>
        Glob.IsMatch(Rule, rule) && Glob.IsMatch(Resource, resource) && (Healer is null || healer is null || Glob.IsMatch(Healer, healer));
}
