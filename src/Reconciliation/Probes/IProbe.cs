
namespace Reconciliation;

/// <summary>
/// Reads one resource and writes named numeric signals. One probe may write many signals from one round trip.
/// The engine runs probes concurrently, each under a timeout; a probe that throws or hangs yields
/// <c>probe.failed</c> = 1 for its resource and never stops the tick.
/// </summary>
public interface IProbe
{
    /// <summary>The resource this probe reads (<c>main-db</c>, <c>cache</c>, <c>process</c>).</summary>
    string Resource { get; }

    /// <summary>The signals this probe may write. Read once at start; rules are compiled against it.</summary>
    IReadOnlyList<SignalDescriptor> Signals { get; }

    /// <summary>
    /// Takes one reading. Every signal starts the tick as "no reading"; write the ones you measured.
    /// Honour <paramref name="cancellationToken"/>: it fires at the probe timeout and at shutdown. Do not block the calling
    /// thread (use async I/O): the engine stops waiting at the timeout for the task you return, but a probe that blocks
    /// before returning one holds up the whole tick.
    /// </summary>
    ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken);
}
