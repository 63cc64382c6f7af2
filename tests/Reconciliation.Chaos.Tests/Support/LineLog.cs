namespace Reconciliation.Chaos.Tests.Support;

/// <summary>
/// Every line every process of the storm printed, in arrival order, and waits on them: a fault's check waits for the
/// line that proves what must happen (with a bound), never for time to pass. Each line also goes to the continuous
/// invariant checks as it arrives.
/// </summary>
internal sealed class LineLog
{
    private readonly List<ChaosLine> _lines = [];
    private readonly List<Action<ChaosLine>> _observers = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Count
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    public void Observe(Action<ChaosLine> observer)
    {
        lock (_lines)
        {
            _observers.Add(observer);
        }
    }

    public void Add(ChaosLine line)
    {
        TaskCompletionSource changed;
        Action<ChaosLine>[] observers;
        lock (_lines)
        {
            _lines.Add(line);
            observers = [.. _observers];
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        foreach (var observer in observers)
        {
            observer(line);
        }

        changed.TrySetResult();
    }

    public IReadOnlyList<ChaosLine> Since(int from)
    {
        lock (_lines)
        {
            return from >= _lines.Count ? [] : _lines.GetRange(from, _lines.Count - from);
        }
    }

    public IReadOnlyList<ChaosLine> All => Since(0);

    /// <summary>The first line at or after <paramref name="from"/> matching; null when <paramref name="timeout"/> passed first.</summary>
    public async Task<ChaosLine?> WaitForAsync(Func<ChaosLine, bool> match, int from, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var index = from;
        while (true)
        {
            Task changed;
            lock (_lines)
            {
                for (; index < _lines.Count; index++)
                {
                    if (match(_lines[index]))
                    {
                        return _lines[index];
                    }
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }
}
