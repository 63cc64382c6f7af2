using System.Globalization;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>
/// Watches the host's tick lines while the storm waits for a settled service (a tick with no violation listed). It
/// tells a loop that fails to close a violation from a service that is still degraded: the engine closes a violation
/// on the first reading within its clear level, so a violation listed open on <see cref="ChaosStorm.ClearedButOpenTicks"/>
/// ticks in a row with its signal within its clear level is <see cref="Stuck"/>; one whose signal stays beyond its
/// clear level is held open rightly, and what it was observed at is kept for the report (<see cref="Held"/>).
/// </summary>
internal sealed class SettleWatch
{
    private readonly Dictionary<string, int> _streaks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Min, double Max, TickViolation Last)> _seen = new(StringComparer.Ordinal);
    private IReadOnlyList<TickViolation> _open = [];

    /// <summary>Set once a violation stayed open with its signal within its clear level too long: a defect of the loop.</summary>
    public string? Stuck { get; private set; }

    /// <summary>The violations open on the last tick.</summary>
    public string Open => string.Join(", ", _open);

    /// <summary>Each violation seen open: the range its signal was observed in, against its clear level.</summary>
    public string Held => string.Join("; ", _seen.Select(kv => string.Create(CultureInfo.InvariantCulture,
        $"{kv.Key}: observed {kv.Value.Min:0.###}–{kv.Value.Max:0.###}, clear {(kv.Value.Last.Above ? "<=" : ">=")} {kv.Value.Last.Clear:0.###}")));

    /// <summary>Reads one tick line; true when the wait is over (settled, or <see cref="Stuck"/>).</summary>
    public bool Observe(ChaosLine tick)
    {
        var all = tick.Violations();
        _open = all.Where(v => v.IsOpen).ToList();
        foreach (var v in _open)
        {
            var key = v.Rule + " on " + v.Resource;
            _streaks[key] = v.SignalCleared ? _streaks.GetValueOrDefault(key) + 1 : 0;
            if (_streaks[key] >= ChaosStorm.ClearedButOpenTicks)
            {
                Stuck ??= $"{v} stayed open on {_streaks[key]} ticks in a row with its signal within its clear level";
            }

            if (v.Observed is { } o)
            {
                var (min, max, _) = _seen.TryGetValue(key, out var s) ? s : (double.MaxValue, double.MinValue, v);
                _seen[key] = (Math.Min(min, o), Math.Max(max, o), v);
            }
        }

        foreach (var key in _streaks.Keys.Where(k => !_open.Any(v => v.Rule + " on " + v.Resource == k)).ToList())
        {
            _streaks.Remove(key);
        }

        return Stuck is not null || all.Count == 0;
    }
}
