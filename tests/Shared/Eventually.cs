using System.Diagnostics;
using Xunit;

namespace Reconciliation.Tests;

/// <summary>
/// Waits for a condition on a real server that offers no notification for it (a session idle on the server's clock,
/// a lock wait, a client's own reconnect, rows a worker wrote). The condition is re-checked with a short, growing
/// interval until it holds or a bounded deadline passes; no test asserts on how long it took. Conditions that do raise
/// events (measurements, deliveries) are awaited on those events instead, not here.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>True once <paramref name="condition"/> holds; false when <paramref name="timeout"/> passed first.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<Task>? between = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var elapsed = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (elapsed.Elapsed > limit)
            {
                return false;
            }

            if (between is not null)
            {
                await between();
            }

            await Task.Delay(pause, TestContext.Current.CancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));
        }
    }

    /// <summary>Fails the test, naming <paramref name="what"/>, unless <paramref name="condition"/> comes to hold in time.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        if (!await HoldsAsync(condition, timeout))
        {
            Assert.Fail($"Timed out after {timeout ?? DefaultTimeout} waiting until {what}.");
        }
    }
}
