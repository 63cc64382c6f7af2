namespace Reconciliation;

/// <summary>
/// Shared-resource exclusion: only one holder heals a shared resource at a time. In memory (this process only) by
/// default; the PostgreSQL and Redis coordination stores give a fleet-wide lease with a time to live, renewal while the
/// heal runs and a fencing token, and any other implementation plugs in through <c>builder.UseHealLease&lt;T&gt;()</c>.
/// </summary>
public interface IHealLease
{
    /// <summary>
    /// Tries to take the lease on <paramref name="resource"/>, expecting to hold it for about <paramref name="duration"/>
    /// (the heal's timeout plus its verification period; a renewing lease may use a shorter time to live and renew it).
    /// Returns the held lease (released on dispose), or <see langword="null"/> when another holder has it.
    /// </summary>
    ValueTask<IHealLeaseHandle?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken);
}
