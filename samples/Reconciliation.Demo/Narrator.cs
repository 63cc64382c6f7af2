using System.Diagnostics;
using System.Globalization;

namespace Reconciliation.Demo;

/// <summary>Readable progress lines with the time since the demo started: one line per fact, not a log flood.</summary>
internal sealed class Narrator
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();

    public TimeSpan Now => _clock.Elapsed;

    public void Say(string kind, string text)
    {
        var color = kind switch
        {
            "FAULT" => ConsoleColor.Red,
            "DETECT" => ConsoleColor.Yellow,
            "HEAL" => ConsoleColor.Cyan,
            "HEALED" or "RECOVER" => ConsoleColor.Green,
            "SKIP" or "FAILED" => ConsoleColor.Magenta,
            _ => ConsoleColor.Gray,
        };
        lock (_gate)
        {
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:0.0}s] "));
            var previous = Console.ForegroundColor;
            Console.ForegroundColor = color;
            Console.Write($"{kind,-8}");
            Console.ForegroundColor = previous;
            Console.WriteLine(" " + text);
        }
    }
}
