namespace Reconciliation;

/// <summary>What a healer's action touches.</summary>
public enum HealScope
{
    /// <summary>Only this process (clearing its own pool, restarting it).</summary>
    Process,

    /// <summary>A resource other replicas share (the database server, the cache): healed under a lease, by one replica at a time.</summary>
    SharedResource,
}
