namespace Reconciliation.Demo;

/// <summary>What happened to one injected fault: when it was injected, detected, healed and recovered.</summary>
internal sealed class FaultRecord(string name, string rule)
{
    public string Name { get; } = name;

    public string Rule { get; } = rule;

    public TimeSpan? InjectedAt { get; set; }

    public TimeSpan? DetectedAt { get; set; }

    public TimeSpan? HealedAt { get; set; }

    public TimeSpan? RecoveredAt { get; set; }

    public string? Healer { get; set; }

    public bool Done => RecoveredAt is not null;

    /// <summary>Heals started for this fault's rule, by either replica.</summary>
    public int Attempts { get; private set; }

    /// <summary>Fleet episodes: from the first replica opening the rule's violation to the last one closing it.</summary>
    public int Episodes { get; private set; }

    /// <summary>
    /// Episodes in which both replicas started a heal, one after the other: allowed by the policy (after a heal failed its
    /// verification, any replica may try again once the healer's fleet-wide cooldown has passed).
    /// </summary>
    public int HealedByBoth { get; private set; }

    /// <summary>
    /// Heals started while another replica's heal of the same rule was still running or awaiting its verdict: what the
    /// shared lease exists to prevent.
    /// </summary>
    public int HealedAtOnce { get; private set; }

    private readonly Lock _gate = new();
    private readonly HashSet<string> _open = new(StringComparer.Ordinal);
    private readonly HashSet<string> _healersThisEpisode = new(StringComparer.Ordinal);
    private readonly HashSet<string> _healing = new(StringComparer.Ordinal);

    public void Opened(string replica)
    {
        lock (_gate)
        {
            if (_open.Count == 0)
            {
                Episodes++;
                _healersThisEpisode.Clear();
            }

            _open.Add(replica);
        }
    }

    public void Closed(string replica)
    {
        lock (_gate)
        {
            _open.Remove(replica);
        }
    }

    public void HealStarted(string replica)
    {
        lock (_gate)
        {
            Attempts++;
            if (_healersThisEpisode.Add(replica) && _healersThisEpisode.Count == 2)
            {
                HealedByBoth++;
            }

            if (_healing.Any(other => !string.Equals(other, replica, StringComparison.Ordinal)))
            {
                HealedAtOnce++;
            }

            _healing.Add(replica);
        }
    }

    /// <summary>The replica's heal reached its end: verified, failed (or failed its verification), or skipped.</summary>
    public void HealEnded(string replica)
    {
        lock (_gate)
        {
            _healing.Remove(replica);
        }
    }
}
