using System.Globalization;
using Reconciliation.Queue;
using Reconciliation.ReplicaHost;

namespace Reconciliation.ChaosHost;

/// <summary>The harness's additions to the orders sample: its faulty probe and healers, and the worker processes' queue.</summary>
internal static class ChaosExtensions
{
    /// <summary>The queue the separate worker processes (tests/Reconciliation.Queue.WorkerHost) drain and the storm kills.</summary>
    public const string WorkerQueue = "chaos_mp";

    public static void Add(IServiceCollection services, FaultFile faults)
    {
        var reconciliation = services.AddStateReconciliation();
        reconciliation.AddProbe(_ => new ChaosProbe(faults));
        foreach (var resource in ChaosHealer.Resources)
        {
            reconciliation.AddProbe(_ => new FaultProbe(faults, resource));
        }

        reconciliation.AddHealer<ChaosHealer>();

        // Watched (probe + queue.requeue-stuck), not worked here: the worker processes work it and are killed.
        // The same lease settings as the worker processes; the rescue is left to them and to the healer.
        reconciliation.AddPostgresQueue(WorkerQueue, o =>
        {
            o.VisibilityTimeout = TimeSpan.FromSeconds(2);
            o.RescueInterval = TimeSpan.FromMilliseconds(500);
            o.MaxAttempts = 1000;
        });
    }
}

/// <summary>
/// Resource <c>chaos-probe</c>, signal <c>chaos.ok</c> = 1. The fault file's <c>probe</c> key makes it misbehave:
/// 1 hangs (honouring its token), 2 throws (with the planted secret in the message), 3 blocks its thread synchronously
/// for <c>block</c> seconds (default 3), ignoring its token.
/// </summary>
internal sealed class ChaosProbe(FaultFile faults) : IProbe
{
    private static readonly SignalDescriptor[] Descriptors = [new("chaos.ok", "{ok}", "1 while the chaos probe answers.")];

    public string Resource => "chaos-probe";

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        switch (faults.Read("probe", 0))
        {
            case 1:
                return new ValueTask(Task.Delay(Timeout.Infinite, cancellationToken));
            case 2:
                throw new InvalidOperationException("chaos probe throws; Host=db;Password=" + Planted.Secret);
            case 3:
                Thread.Sleep(TimeSpan.FromSeconds(faults.Read("block", 3)));
                break;
        }

        writer.Write("chaos.ok", 1);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// <c>chaos.heal</c>, a process-scoped healer whose misbehaviour is its resource's name: on <c>healer-hang</c> it waits
/// until cancelled (its policy's Timeout), on <c>healer-throw</c> it throws (with the planted secret in the message), on
/// <c>healer-nofix</c> (and <c>coordination-heal</c>, the one the coordination outage uses) it reports Healed and fixes nothing. Prints an <c>acting</c> line per call.
/// </summary>
internal sealed class ChaosHealer : IHealer
{
    public static readonly string[] Resources = ["healer-hang", "healer-throw", "healer-nofix", "coordination-heal"];

    public string Name => "chaos.heal";

    public bool IsDestructive => false;

    public HealScope Scope => HealScope.Process;

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        Output.Line("acting", json =>
        {
            json.WriteString("healer", Name);
            json.WriteString("resource", context.Resource);
            json.WriteNumber("attempt", context.Attempt);
        });
        switch (context.Resource)
        {
            case "healer-hang":
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                return HealOutcome.Failed("unreachable");
            case "healer-throw":
                throw new InvalidOperationException("chaos healer throws; Host=db;Password=" + Planted.Secret);
            default:
                return HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture, $"attempt {context.Attempt}: fixed nothing"));
        }
    }
}

/// <summary>The secret the harness plants (CHAOS_PLANTED) in exception messages; no line may ever contain it.</summary>
internal static class Planted
{
    public static readonly string Secret = Environment.GetEnvironmentVariable("CHAOS_PLANTED") is { Length: > 0 } s ? s : "planted-secret-not-set";
}
