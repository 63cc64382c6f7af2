namespace Reconciliation;

/// <summary>
/// The reconciler: one tick probes, evaluates rules and heals. The background loop, the health check and a
/// deployment gate all use this same engine.
/// </summary>
public interface IReconciler
{
    /// <summary>Runs one tick now and returns its report. Ticks never overlap: a call during a running tick waits for it.</summary>
    Task<ReconciliationReport> ReconcileOnceAsync(CancellationToken cancellationToken = default);

    /// <summary>The report of the latest completed tick, or <see langword="null"/> before the first one. Never runs a tick.</summary>
    ReconciliationReport? LatestReport { get; }
}
