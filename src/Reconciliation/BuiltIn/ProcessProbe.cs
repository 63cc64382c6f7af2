
namespace Reconciliation.BuiltIn;

/// <summary>
/// Reads this process from the runtime's own counters: working set, GC heap size, thread-pool queue length and
/// the exception rate, so a host can react to its own leaks. Resource name: <c>process</c>.
/// </summary>
public sealed class ProcessProbe : IProbe, IDisposable
{
    /// <summary>The resource name, <c>process</c>.</summary>
    public const string ResourceName = "process";

    private readonly TimeProvider _time;
    private long _exceptions;
    private long _lastExceptions;
    private long _lastTimestamp;

    /// <summary>Creates the probe and starts counting exceptions thrown in this process.</summary>
    public ProcessProbe(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _lastTimestamp = timeProvider.GetTimestamp();
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChanceException;
    }

    /// <inheritdoc />
    public string Resource => ResourceName;

    /// <inheritdoc />
    public IReadOnlyList<SignalDescriptor> Signals { get; } =
    [
        new(SignalNames.ProcessWorkingSet, SignalUnits.Bytes, "Physical memory mapped to the process."),
        new(SignalNames.ProcessGcHeapSize, SignalUnits.Bytes, "Managed heap size as of the last garbage collection."),
        new(SignalNames.ProcessThreadPoolQueueLength, SignalUnits.Count, "Thread-pool work items queued and not yet started."),
        new(SignalNames.ProcessExceptionsRate, SignalUnits.PerSecond, "Exceptions thrown per second since the previous tick."),
    ];

    /// <inheritdoc />
    /// <remarks>Reads counters of this process (the working set from /proc, the GC, the thread pool): no I/O to wait for.</remarks>
    public ProbeExecution Execution => ProbeExecution.Inline;

    /// <inheritdoc />
    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(0, Environment.WorkingSet);
        // HeapSizeBytes is 0 until the first collection; the allocated total is the honest reading before that.
        var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        writer.Write(1, heap > 0 ? heap : GC.GetTotalMemory(forceFullCollection: false));
        writer.Write(2, ThreadPool.PendingWorkItemCount);

        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_lastTimestamp, now).TotalSeconds;
        var total = Interlocked.Read(ref _exceptions);
        if (elapsed > 0)
        {
            writer.Write(3, (total - _lastExceptions) / elapsed);
        }

        _lastExceptions = total;
        _lastTimestamp = now;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChanceException;

    private void OnFirstChanceException(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e) =>
        Interlocked.Increment(ref _exceptions);
}
