using System.Globalization;
using Microsoft.Extensions.Time.Testing;

namespace Reconciliation.Queue.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that reports when the code under test arms a timer, and for when. <see cref="FakeTimeProvider.Advance"/>
/// fires only the timers already armed: a timer armed just after an advance is due one full wait after the new time, so a
/// test that advances while the code under test is between reading the clock and arming its delay waits for a tick that
/// never comes. A test awaits <see cref="TimersDueAtAsync"/> first, then advances. Every timer is the base class's own:
/// fake time applies unchanged.
/// </summary>
internal sealed class TimerWatchingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _armed = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var due = GetUtcNow() + dueTime;
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                _armed.Add(due);
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }

        return timer;
    }

    /// <summary>Completes once <paramref name="count"/> timers due at <paramref name="due"/> have been armed (since this provider was made).</summary>
    public async Task TimersDueAtAsync(DateTimeOffset due, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_armed.Count(d => d == due) >= count)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The due times of the timers armed so far (for failure messages).</summary>
    public override string ToString()
    {
        lock (_gate)
        {
            return $"{base.ToString()}; timers armed for {string.Join(", ", _armed.Select(d => d.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}";
        }
    }
}
