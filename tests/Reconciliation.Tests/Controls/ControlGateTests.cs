namespace Reconciliation.Tests.Controls;

/// <summary>The operator controls as one pure decision, as a table: which control holds a heal back, and in which order.</summary>
public sealed class ControlGateTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string, string?> Cases => new()
    {
        { "nothing", "None", null },
        { "pause", "Paused", "alice" },
        { "pause-ended", "None", null },
        { "silence-rule", "Silenced", "s-rule" },
        { "silence-glob", "Silenced", "s-glob" },
        { "silence-other-rule", "None", null },
        { "silence-other-healer", "None", null },
        { "silence-this-healer", "Silenced", "s-healer" },
        { "silence-not-started", "None", null },
        { "silence-ended", "None", null },
        { "window", "MaintenanceWindow", "nightly" },
        { "inhibited", "Inhibited", "postgres-down" },
        { "flapping", "Flapping", "pool-saturation" },
        { "flapping-over", "None", null },
        { "approval-off", "ApprovalOff", null },
        { "approval-propose", "None", null },
        { "pause-wins-over-silence", "Paused", "alice" },
        { "silence-wins-over-inhibition", "Silenced", "s-rule" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Holds_a_heal_back_by_the_first_control_that_applies(string name, string expected, string? holder)
    {
        var hold = ControlGate.Check(Input(name));

        Assert.Equal(expected, hold.Kind.ToString());
        Assert.Equal(holder, hold.Name);
    }

    [Fact]
    public void Of_two_silences_the_one_that_ends_last_is_named()
    {
        var input = Input("nothing") with { Silences = [Silence("short", rule: "pool-*", endsIn: 10), Silence("long", rule: "pool-saturation", endsIn: 60)] };

        var hold = ControlGate.Check(input);

        Assert.Equal("long", hold.Name);
        Assert.Equal(Now.AddMinutes(60), hold.Until);
        Assert.Equal("silenced by 'long' (bob: deploy) until 2026-03-02T13:00:00Z", hold.Describe());
    }

    private static ControlGateInput Input(string name)
    {
        var input = new ControlGateInput("pool-saturation", "orders-db", "postgres.clear-pool", Now, null, [], [], null, null, null, ApprovalMode.Auto);
        return name switch
        {
            "pause" => input with { Pause = new HealingPause("alice", "incident", Now.AddMinutes(-1), null) },
            "pause-ended" => input with { Pause = new HealingPause("alice", "incident", Now.AddMinutes(-10), Now.AddMinutes(-1)) },
            "silence-rule" => input with { Silences = [Silence("s-rule", rule: "pool-saturation")] },
            "silence-glob" => input with { Silences = [Silence("s-glob", rule: "POOL-*", resource: "orders-?b")] },
            "silence-other-rule" => input with { Silences = [Silence("s-other", rule: "redis-*")] },
            "silence-other-healer" => input with { Silences = [Silence("s-other", healer: "postgres.terminate-*")] },
            "silence-this-healer" => input with { Silences = [Silence("s-healer", healer: "postgres.clear-*")] },
            "silence-not-started" => input with { Silences = [Silence("s-later", rule: "pool-saturation", startsIn: 5)] },
            "silence-ended" => input with { Silences = [Silence("s-ended", rule: "pool-saturation", startsIn: -60, endsIn: 0)] },
            "window" => input with { Windows = [Window("nightly", "11:00", "13:00")] },
            "inhibited" => input with { InhibitingRule = "postgres-down" },
            "flapping" => input with { FlappingUntil = Now.AddMinutes(30), FlapDetail = "opened 11 times within 01:00:00" },
            "flapping-over" => input with { FlappingUntil = Now },
            "approval-off" => input with { Approval = ApprovalMode.Off },
            "approval-propose" => input with { Approval = ApprovalMode.Propose },
            "pause-wins-over-silence" => input with { Pause = new HealingPause("alice", "incident", Now, null), Silences = [Silence("s-rule", rule: "pool-saturation")] },
            "silence-wins-over-inhibition" => input with { InhibitingRule = "postgres-down", Silences = [Silence("s-rule", rule: "pool-saturation")] },
            _ => input,
        };
    }

    private static Silence Silence(string id, string? rule = null, string? resource = null, string? healer = null, int startsIn = -1, int endsIn = 30) => new()
    {
        Id = id,
        Rule = rule,
        Resource = resource,
        Healer = healer,
        StartsAt = Now.AddMinutes(startsIn),
        EndsAt = Now.AddMinutes(endsIn),
        Owner = "bob",
        Reason = "deploy",
    };

    private static MaintenanceWindow Window(string name, string start, string end)
    {
        var options = new MaintenanceWindowOptions();
        options.Times.Add(new TimeRangeOptions { Start = start, End = end });
        return MaintenanceWindow.Compile(name, options, "Reconciliation:MaintenanceWindows:" + name, errors: null)!;
    }
}
