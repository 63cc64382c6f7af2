using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>Waits for a real condition on a real server by polling, with a bounded deadline (never a fixed sleep).</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Environment.TickCount64 + (long)(timeout ?? DefaultTimeout).TotalMilliseconds;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
