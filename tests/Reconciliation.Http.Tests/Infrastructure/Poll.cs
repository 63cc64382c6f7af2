using Xunit;

namespace Reconciliation.Http.Tests.Infrastructure;

internal static class Poll
{
    /// <summary>Waits for a real condition (a metric arriving from another thread), failing after a bounded deadline.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 15)
    {
        var deadline = Environment.TickCount64 + (seconds * 1000L);
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"Timed out after {seconds} s waiting for {what}.");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
