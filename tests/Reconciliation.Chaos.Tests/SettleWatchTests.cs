using System.Globalization;
using Reconciliation.Chaos.Tests.Support;
using Xunit;

namespace Reconciliation.Chaos.Tests;

/// <summary>
/// The storm's wait for a settled service tells a loop that fails to close a violation (a defect: the run fails) from a
/// service still degraded (its signal beyond its clear level: the wait goes on and is reported).
/// </summary>
public sealed class SettleWatchTests
{
    private static ChaosLine Tick(params (string Rule, string State, double Observed, double Clear, bool Above)[] violations) =>
        ChaosLine.Parse("host", "{\"t\":\"tick\",\"at\":\"2026-11-29T17:00:00+00:00\",\"violations\":[" + string.Join(',', violations.Select(v => string.Create(CultureInfo.InvariantCulture,
            $"{{\"rule\":\"{v.Rule}\",\"resource\":\"orders\",\"state\":\"{v.State}\",\"observed\":{v.Observed},\"clear\":{v.Clear},\"above\":{(v.Above ? "true" : "false")}}}"))) + "]}", stderr: false);

    [Fact]
    public void A_violation_held_open_by_its_signal_beyond_clear_is_waited_for_and_reported()
    {
        var watch = new SettleWatch();
        for (var i = 0; i < 40; i++)
        {
            Assert.False(watch.Observe(Tick(("orders-latency", "Open", 0.1 + (i % 3 * 0.01), 0.1, true))));
        }

        Assert.False(watch.Observe(Tick(("orders-latency", "Closed", 0.09, 0.1, true)))); // closed this tick: listed once more
        Assert.True(watch.Observe(Tick()));
        Assert.Null(watch.Stuck);
        Assert.Contains("orders-latency on orders: observed 0.1–0.12, clear <= 0.1", watch.Held, StringComparison.Ordinal);
    }

    [Fact]
    public void A_violation_left_open_with_its_signal_within_clear_is_stuck()
    {
        var watch = new SettleWatch();
        Assert.False(watch.Observe(Tick(("orders-latency", "Healing", 0.15, 0.1, true))));
        Assert.False(watch.Observe(Tick(("orders-latency", "Healing", 0.08, 0.1, true))));
        Assert.False(watch.Observe(Tick(("orders-latency", "Healing", 0.15, 0.1, true)))); // a streak starts again
        Assert.False(watch.Observe(Tick(("orders-latency", "Healing", 0.1, 0.1, true))));
        Assert.False(watch.Observe(Tick(("orders-latency", "Exhausted", 0.05, 0.1, true))));
        Assert.Null(watch.Stuck);
        Assert.True(watch.Observe(Tick(("orders-latency", "Exhausted", 0.05, 0.1, true))));
        Assert.Contains("stayed open on 3 ticks in a row", watch.Stuck, StringComparison.Ordinal);
    }

    [Fact]
    public void A_below_rule_is_cleared_at_or_above_its_clear_level()
    {
        var watch = new SettleWatch();
        for (var i = 0; i < 5; i++)
        {
            Assert.False(watch.Observe(Tick(("free-disk", "Open", 2, 3, false))));
        }

        Assert.Null(watch.Stuck);
        for (var i = 0; i < 3; i++)
        {
            watch.Observe(Tick(("free-disk", "Open", 3, 3, false)));
        }

        Assert.NotNull(watch.Stuck);
    }
}
