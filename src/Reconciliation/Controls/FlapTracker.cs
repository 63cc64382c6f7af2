namespace Reconciliation;

/// <summary>
/// The flap breaker of one rule instance: the times it opened within the window (a fixed ring, allocated at its first
/// open), and until when its heals are muted. Pure: the engine tells it each open and the tick's time.
/// </summary>
internal sealed class FlapTracker
{
    private readonly DateTimeOffset[] _opens;
    private int _next;
    private int _count;

    public FlapTracker(int maxOpens) => _opens = new DateTimeOffset[maxOpens + 1];

    /// <summary>Until when heals are muted (<see cref="DateTimeOffset.MinValue"/>: not muted).</summary>
    public DateTimeOffset MutedUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>What it saw when it muted (for the report).</summary>
    public string? Detail { get; private set; }

    /// <summary>Records an open; true when this open makes it flapping (more than <c>maxOpens</c> within <c>window</c>).</summary>
    public bool RecordOpen(DateTimeOffset now, int maxOpens, TimeSpan window, TimeSpan muteFor)
    {
        if (_opens.Length != maxOpens + 1)
        {
            return false; // a reload changed MaxOpens: the engine makes a new tracker
        }

        _opens[_next] = now;
        _next = (_next + 1) % _opens.Length;
        _count = Math.Min(_count + 1, _opens.Length);
        var within = 0;
        for (var i = 0; i < _count; i++)
        {
            if (_opens[i] > now - window)
            {
                within++;
            }
        }

        if (within <= maxOpens || now < MutedUntil)
        {
            return false;
        }

        MutedUntil = now + muteFor;
        Detail = $"opened {within} times within {window}";
        return true;
    }

    /// <summary>True when this tracker was made for <paramref name="maxOpens"/>.</summary>
    public bool IsFor(int maxOpens) => _opens.Length == maxOpens + 1;
}
