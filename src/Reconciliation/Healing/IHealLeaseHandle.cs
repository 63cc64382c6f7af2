namespace Reconciliation;

/// <summary>
/// A held lease. Disposing it releases the lease (only if it is still this holder's: a lease that expired and was taken
/// by another holder stays theirs).
/// </summary>
public interface IHealLeaseHandle : IAsyncDisposable
{
    /// <summary>
    /// The fencing token: strictly greater than the token of every earlier holder of the same resource. The engine
    /// records it with every journal entry of the heal, and a shared journal refuses a write whose token was superseded
    /// (a holder that paused past its time to live, then woke up). A healer finds it in <see cref="HealContext.FencingToken"/>.
    /// </summary>
    long FencingToken { get; }

    /// <summary>
    /// Cancelled when the lease is lost while held: it expired without renewal (the store was unreachable for its whole
    /// time to live) or another holder has it. The engine cancels the healer with it and records the attempt as lost.
    /// </summary>
    CancellationToken Lost { get; }
}
