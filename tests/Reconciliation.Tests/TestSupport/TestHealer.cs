
namespace Reconciliation.Tests.TestSupport;

/// <summary>A healer that counts its calls and can heal (run an action), fail, throw or hang (ignoring its token).</summary>
internal sealed class TestHealer : IHealer
{
    private readonly List<HealContext> _calls = [];
    private readonly List<DateTimeOffset> _calledAt = [];
    private readonly TimeProvider? _time;

    public TestHealer(string name, TimeProvider? time = null)
    {
        Name = name;
        _time = time;
    }

    public string Name { get; }

    public bool IsDestructive { get; init; }

    public HealScope Scope { get; init; } = HealScope.Process;

    /// <summary>Null: applies to every resource.</summary>
    public string? OnlyResource { get; init; }

    /// <summary>What a call returns (default Healed).</summary>
    public Func<HealContext, HealOutcome> Outcome { get; set; } = _ => HealOutcome.Healed("done");

    /// <summary>Run on each call before returning (e.g. fix the probe's reading).</summary>
    public Action<HealContext>? OnHeal { get; set; }

    public Exception? Throw { get; set; }

    /// <summary>While set, a call signals <see cref="Entered"/> and waits for this gate, ignoring its token.</summary>
    public TaskCompletionSource? Gate { get; set; }

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Plan { get; set; } = "do the test thing";

    public int Calls
    {
        get
        {
            lock (_calls)
            {
                return _calls.Count;
            }
        }
    }

    public IReadOnlyList<HealContext> Contexts
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public IReadOnlyList<DateTimeOffset> CalledAt
    {
        get
        {
            lock (_calls)
            {
                return [.. _calledAt];
            }
        }
    }

    public bool AppliesTo(string resource) => OnlyResource is null || OnlyResource == resource;

    public string DescribePlan(HealContext context) => Plan;

    /// <summary>With a gate, the returned task is a synchronous continuation of it (see <see cref="TestProbe.ProbeAsync"/>).</summary>
    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        lock (_calls)
        {
            _calls.Add(context);
            _calledAt.Add(_time?.GetUtcNow() ?? default);
        }

        if (Gate is { } gate)
        {
            Entered.TrySetResult();
            return new ValueTask<HealOutcome>(gate.Task.ContinueWith(
                _ => Act(context), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
        }

        try
        {
            return ValueTask.FromResult(Act(context));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<HealOutcome>(e);
        }
    }

    private HealOutcome Act(HealContext context)
    {
        if (Throw is { } exception)
        {
            throw exception;
        }

        OnHeal?.Invoke(context);
        return Outcome(context);
    }
}
