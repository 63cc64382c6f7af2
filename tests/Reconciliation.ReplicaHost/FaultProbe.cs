namespace Reconciliation.ReplicaHost;

/// <summary><c>fleet.fault</c> of one resource, read from the fault file (0 when the file says nothing).</summary>
internal sealed class FaultProbe(FaultFile file, string resource) : IProbe
{
    public const string Signal = "fleet.fault";

    private static readonly SignalDescriptor[] Descriptors = [new(Signal, "{fault}", "The fault the test declared for the resource (0 none, 1 faulted).")];

    public string Resource => resource;

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        writer.Write(Signal, file.Read(resource, 0));
        return ValueTask.CompletedTask;
    }
}
