using System.Globalization;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// <c>fleet.hang</c>, registered only in this host: a shared-resource healer (it runs under the fleet's lease) that
/// waits the number of seconds the fault file's <c>hang</c> key says when it starts (0 by default), honouring its
/// token, and then reports Healed without fixing anything (the verdict fails while the fault stays). The tests kill,
/// stop or cut off its replica while it waits. It prints its fencing token when it starts acting.
/// </summary>
internal sealed class HangingHealer(FaultFile file, TimeProvider time) : IHealer
{
    public const string HealerName = "fleet.hang";

    public string Name => HealerName;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.SharedResource;

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        var seconds = file.Read("hang", 0);
        Output.Line("acting", json =>
        {
            json.WriteString("healer", Name);
            json.WriteString("resource", context.Resource);
            json.WriteNumber("attempt", context.Attempt);
            json.WriteNumber("hang", seconds);
            if (context.FencingToken is { } token)
            {
                json.WriteNumber("token", token);
            }
            else
            {
                json.WriteNull("token");
            }
        });
        if (seconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), time, cancellationToken).ConfigureAwait(false);
        }

        return HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture, $"waited {seconds} s, fixed nothing"));
    }
}

/// <summary><c>fleet.local</c>, registered only in this host: a process-scoped healer (no lease) that reports Healed and fixes nothing.</summary>
internal sealed class LocalHealer : IHealer
{
    public const string HealerName = "fleet.local";

    public string Name => HealerName;

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.Process;

    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        Output.Line("acting", json =>
        {
            json.WriteString("healer", Name);
            json.WriteString("resource", context.Resource);
            json.WriteNumber("attempt", context.Attempt);
        });
        return ValueTask.FromResult(HealOutcome.Healed("fixed nothing"));
    }
}
