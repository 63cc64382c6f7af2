namespace Reconciliation;

/// <summary>How the engine calls a probe each tick (<see cref="IProbe.Execution"/>).</summary>
public enum ProbeExecution
{
    /// <summary>
    /// The default: the probe is called on a thread-pool thread of its own, under its timeout, so a probe that blocks its
    /// thread (synchronous I/O, a lock, <c>.Result</c>) costs only its own reading and never holds up the tick.
    /// </summary>
    ThreadPool = 0,

    /// <summary>
    /// For probes that only read process memory (counters, histograms, pool statistics) and return at once: the probe
    /// is called on the tick's own thread, which saves the thread-pool hop (a few microseconds per tick). Its timeout
    /// still ends the wait for a task that does not complete, but nothing can cut short a call that blocks before it
    /// returns; so the engine times each inline call, and a probe whose call takes longer than 10 ms (a thousand times
    /// what reading memory takes) is logged once (event <c>InlineProbeTooSlow</c>) and runs on the thread pool from then on.
    /// </summary>
    Inline = 1,
}
