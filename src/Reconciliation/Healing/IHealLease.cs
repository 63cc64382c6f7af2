namespace Reconciliation;

/// <summary>
/// Shared-resource exclusion: only one replica heals a shared resource at a time. In memory (this process only)
/// by default; a multi-replica implementation (advisory lock, Redis) plugs in through <c>builder.UseHealLease&lt;T&gt;()</c>.
/// </summary>
public interface IHealLease
{
    /// <summary>
    /// Tries to take the lease on <paramref name="resource"/> for <paramref name="duration"/>. Returns a handle that
    /// releases it on dispose, or <see langword="null"/> when another holder has it.
    /// </summary>
    ValueTask<IAsyncDisposable?> TryAcquireAsync(string resource, TimeSpan duration, CancellationToken cancellationToken);
}
