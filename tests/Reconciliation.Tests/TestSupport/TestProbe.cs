
namespace Reconciliation.Tests.TestSupport;

/// <summary>A probe whose readings the test sets; it can also throw, hang (ignoring its token) or block on a gate.</summary>
internal sealed class TestProbe : IProbe
{
    private readonly double[] _values;
    private int _concurrent;

    public TestProbe(string resource, params string[] signals)
    {
        Resource = resource;
        Signals = signals.Select(s => new SignalDescriptor(s, SignalUnits.Ratio, "test signal " + s)).ToArray();
        _values = new double[signals.Length];
        Array.Fill(_values, double.NaN);
    }

    public string Resource { get; }

    public IReadOnlyList<SignalDescriptor> Signals { get; }

    /// <summary>Calls so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The most calls that were inside <see cref="ProbeAsync"/> at the same time.</summary>
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

    /// <summary>Thrown from the next calls while set.</summary>
    public Exception? Throw { get; set; }

    /// <summary>
    /// While set, each call signals <see cref="Entered"/> and waits for this gate, ignoring its token (a hung probe).
    /// Create it without <c>RunContinuationsAsynchronously</c> (see <see cref="ProbeAsync"/>).
    /// </summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>When true, a gated call waits for the gate or its token (a slow probe that honours cancellation).</summary>
    public bool HonourToken { get; set; }

    /// <summary>Signalled when a call reaches the gate.</summary>
    public TaskCompletionSource Entered { get; private set; } = NewSignal();

    /// <summary>Released once per call that has finished.</summary>
    public SemaphoreSlim Finished { get; } = new(0);

    private int _calls;
    private int _maxConcurrent;

    /// <summary>Sets the reading of the first signal (NaN = no reading).</summary>
    public void Set(double value) => _values[0] = value;

    /// <summary>Sets the reading of <paramref name="signal"/> (NaN = no reading).</summary>
    public void Set(string signal, double value) => _values[IndexOf(signal)] = value;

    public void ResetEntered() => Entered = NewSignal();

    /// <summary>
    /// Without a gate the reading is taken synchronously. With one, the returned task is a synchronous continuation of
    /// the gate: when the test completes the gate, the (late) write happens and the task the engine holds completes
    /// before <c>SetResult</c> returns, so the test knows exactly when the probe finished.
    /// </summary>
    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        InterlockedMax(ref _maxConcurrent, Interlocked.Increment(ref _concurrent));
        var gate = Gate;
        Entered.TrySetResult();
        if (gate is null)
        {
            try
            {
                Read(writer);
                return ValueTask.CompletedTask;
            }
            catch (Exception e)
            {
                return ValueTask.FromException(e);
            }
            finally
            {
                Leave();
            }
        }

        var wait = HonourToken ? gate.Task.WaitAsync(cancellationToken) : gate.Task; // otherwise deliberately ignores the token
        return new ValueTask(wait.ContinueWith(
            t =>
            {
                try
                {
                    t.GetAwaiter().GetResult();
                    Read(writer);
                }
                finally
                {
                    Leave();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default));
    }

    private void Read(SignalWriter writer)
    {
        if (Throw is { } exception)
        {
            throw exception;
        }

        for (var i = 0; i < _values.Length; i++)
        {
            if (double.IsNaN(_values[i]))
            {
                writer.NoReading(Signals[i].Name);
            }
            else
            {
                writer.Write(i, _values[i]);
            }
        }
    }

    private void Leave()
    {
        Interlocked.Decrement(ref _concurrent);
        Finished.Release();
    }

    private int IndexOf(string signal)
    {
        for (var i = 0; i < Signals.Count; i++)
        {
            if (Signals[i].Name == signal)
            {
                return i;
            }
        }

        throw new ArgumentException(signal);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
