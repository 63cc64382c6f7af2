namespace Reconciliation;

/// <summary>Names of the signals the core package emits. Adapters define theirs beside their probes.</summary>
public static class SignalNames
{
    /// <summary>1 while a probe of the resource throws, hangs past its timeout or is unavailable; 0 otherwise.</summary>
    public const string ProbeFailed = "probe.failed";

    /// <summary>The process's working set, bytes.</summary>
    public const string ProcessWorkingSet = "process.memory.working_set";

    /// <summary>The managed heap size after the last GC, bytes.</summary>
    public const string ProcessGcHeapSize = "process.gc.heap_size";

    /// <summary>Work items queued to the thread pool and not yet started.</summary>
    public const string ProcessThreadPoolQueueLength = "process.threadpool.queue_length";

    /// <summary>Exceptions thrown per second, averaged since the previous tick.</summary>
    public const string ProcessExceptionsRate = "process.exceptions.rate";
}
