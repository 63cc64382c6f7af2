
namespace Reconciliation;

/// <summary>
/// Reads one resource and writes named numeric signals. One probe may write many signals from one round trip.
/// The engine runs probes concurrently, each under a timeout and (by default) on a thread-pool thread of its own; a probe
/// that throws, hangs or blocks its thread yields <c>probe.failed</c> = 1 for its resource and never stops the tick.
/// </summary>
public interface IProbe
{
    /// <summary>The resource this probe reads (<c>main-db</c>, <c>cache</c>, <c>process</c>).</summary>
    string Resource { get; }

    /// <summary>The signals this probe may write. Read once at start; rules are compiled against it.</summary>
    IReadOnlyList<SignalDescriptor> Signals { get; }

    /// <summary>
    /// Takes one reading. Every signal starts the tick as "no reading"; write the ones you measured.
    /// Honour <paramref name="cancellationToken"/>: it fires at the probe timeout and at shutdown. Prefer async I/O: the
    /// engine stops waiting at the timeout, but a thread the probe blocks stays blocked until the probe returns.
    /// </summary>
    ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken);

    /// <summary>
    /// How the engine calls this probe: <see cref="ProbeExecution.ThreadPool"/> (the default, isolated) or, for a probe
    /// that only reads process memory, <see cref="ProbeExecution.Inline"/>. Read once at start.
    /// </summary>
    ProbeExecution Execution => ProbeExecution.ThreadPool;
}
