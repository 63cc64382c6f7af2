namespace Reconciliation;

/// <summary>
/// The flap breaker: a rule instance that opened more than <see cref="MaxOpens"/> times within <see cref="Window"/> is
/// reported as flapping and its heals are muted for <see cref="MuteFor"/> (healing something that keeps coming back
/// treats the symptom; a human should look). Set globally (<c>Reconciliation:Flapping</c>) or per rule.
/// </summary>
public sealed class FlappingOptions
{
    /// <summary>Opens allowed within <see cref="Window"/>; one more mutes it. 0 turns the breaker off. Default 10.</summary>
    public int? MaxOpens { get; set; }

    /// <summary>The sliding window the opens are counted in. Default 1 hour.</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>How long its heals stay muted after it was found flapping. Default 1 hour.</summary>
    public TimeSpan? MuteFor { get; set; }
}
