using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.Engine;

/// <summary>
/// Probes declared <see cref="ProbeExecution.Inline"/> are called on the tick's own thread (no thread-pool hop); one whose
/// call takes longer than the inline limit is said once and moved to the thread pool, where blocking costs only its reading.
/// </summary>
public sealed class InlineProbeTests
{
    private const string Signal = "memory.level";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_inline_probe_is_called_on_the_thread_that_runs_the_tick()
    {
        var probe = new InlineProbe();
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));

        var caller = Environment.CurrentManagedThreadId;
        var tick = harness.TickAsync(); // every await before the probes completes at once here, so this thread calls it
        var report = await tick;

        Assert.Equal(caller, probe.LastThread);
        Assert.Equal(0.4, report.ValueOf(Signal, "memory"));
        Assert.Empty(report.ProbeFailures);
    }

    [Fact]
    public async Task An_inline_probe_whose_call_takes_too_long_is_said_once_and_then_runs_on_the_thread_pool()
    {
        var probe = new InlineProbe();
        await using var harness = EngineHarness.Create(o => o.ProbeTimeout = TimeSpan.FromSeconds(5), b => b.AddProbe(_ => probe));

        // Tick 1: the call "takes" 20 ms on the fake clock (more than the 10 ms limit). Its reading stands: it arrived.
        probe.AdvanceDuringCall = (harness.Time, TimeSpan.FromMilliseconds(20));
        var first = await harness.TickAsync();
        Assert.Equal(0.4, first.ValueOf(Signal, "memory"));
        var said = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "InlineProbeTooSlow");
        Assert.Contains("InlineProbe for memory", said.Message, StringComparison.Ordinal);

        // Tick 2: the probe now blocks its thread. Off the tick's thread, the tick still ends at the probe timeout.
        probe.AdvanceDuringCall = null;
        using var release = new ManualResetEventSlim();
        probe.BlockOn = release;
        try
        {
            harness.Time.Advance(EngineHarness.Interval);
            var tick = harness.TickAsync();
            Assert.True(probe.Entered.Wait(Bound, Ct), "the probe was not called");
            Assert.False(probe.BlockedTheCaller, "the probe was called on the tick's thread again");
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var second = await tick.WaitAsync(Bound, Ct);

            Assert.Equal("timed out after 00:00:05", Assert.Single(second.ProbeFailures).Reason);
            Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Name == "InlineProbeTooSlow"); // said once
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task An_inline_probe_that_goes_asynchronous_is_still_under_its_timeout_and_a_late_answer_still_counts()
    {
        var probe = new InlineProbe();
        await using var harness = EngineHarness.Create(o => o.ProbeTimeout = TimeSpan.FromSeconds(5), b => b.AddProbe(_ => probe));

        // Never answers (and ignores its token): the tick ends at the timeout, armed only once the call went asynchronous.
        probe.Pending = new TaskCompletionSource();
        var tick = harness.TickAsync();
        Assert.False(tick.IsCompleted);
        harness.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(tick.IsCompleted);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        var timedOut = await tick.WaitAsync(Bound, Ct);
        Assert.Equal("timed out after 00:00:05", Assert.Single(timedOut.ProbeFailures).Reason);
        probe.Pending.SetResult(); // the hung call ends; the probe may be called again

        // Answers after 2 s: its reading counts.
        probe.Pending = new TaskCompletionSource();
        var next = harness.NextTickAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(2));
        probe.Pending.SetResult();
        var answered = await next.WaitAsync(Bound, Ct);
        Assert.Empty(answered.ProbeFailures);
        Assert.Equal(0.4, answered.ValueOf(Signal, "memory"));
    }

    [Fact]
    public async Task A_fast_inline_probe_stays_inline()
    {
        var probe = new InlineProbe();
        await using var harness = EngineHarness.Create(null, b => b.AddProbe(_ => probe));
        probe.AdvanceDuringCall = (harness.Time, TimeSpan.FromMilliseconds(9)); // under the 10 ms limit

        for (var i = 0; i < 3; i++)
        {
            var caller = Environment.CurrentManagedThreadId;
            await harness.NextTickAsync();
            Assert.Equal(caller, probe.LastThread);
        }

        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Name == "InlineProbeTooSlow");
    }

    private sealed class InlineProbe : IProbe
    {
        public string Resource => "memory";

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(Signal, SignalUnits.Ratio, "a level held in memory")];

        public ProbeExecution Execution => ProbeExecution.Inline;

        /// <summary>Moves the fake clock on during the call: a call that took that long.</summary>
        public (Microsoft.Extensions.Time.Testing.FakeTimeProvider Time, TimeSpan By)? AdvanceDuringCall { get; set; }

        /// <summary>While set, the call blocks its thread on this gate (bounded, so a wrong engine fails instead of hanging).</summary>
        public ManualResetEventSlim? BlockOn { get; set; }

        public ManualResetEventSlim Entered { get; } = new();

        public int LastThread { get; private set; }

        /// <summary>While set, the call returns this task's continuation (the call goes asynchronous), ignoring its token.</summary>
        public TaskCompletionSource? Pending { get; set; }

        /// <summary>The blocked call ran on the thread that had called the tick (it would have held the tick up).</summary>
        public bool BlockedTheCaller { get; private set; }

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            LastThread = Environment.CurrentManagedThreadId;
            if (AdvanceDuringCall is { } advance)
            {
                advance.Time.Advance(advance.By);
            }

            if (BlockOn is { } gate)
            {
                Entered.Set();
                if (!gate.Wait(Bound, CancellationToken.None))
                {
                    BlockedTheCaller = true; // nobody released it: the test itself was stuck in this call
                }
            }

            if (Pending is { } pending)
            {
                return new ValueTask(pending.Task.ContinueWith(_ => writer.Write(0, 0.4), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
            }

            writer.Write(0, 0.4);
            return ValueTask.CompletedTask;
        }
    }
}
