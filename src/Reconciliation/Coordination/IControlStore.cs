namespace Reconciliation;

/// <summary>
/// Where the operator controls live (silences added at run time, proposals and their decisions, an operator's pause):
/// one small document, written with compare-and-swap so two replicas changing it at once never lose a change. The
/// default keeps it in this process; <c>UsePostgresCoordination</c> and <c>UseRedisCoordination</c> share it with the fleet.
/// </summary>
public interface IControlStore
{
    /// <summary>Reads the document, or <see langword="null"/> when none was written yet.</summary>
    Task<ControlDocument?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="json"/> as version <paramref name="expectedVersion"/> + 1 when the stored version is still
    /// <paramref name="expectedVersion"/> (0: none written yet). False when another writer came first: read again and retry.
    /// </summary>
    Task<bool> TryWriteAsync(string json, long expectedVersion, CancellationToken cancellationToken);
}
