namespace Reconciliation.ReplicaHost;

/// <summary><c>fleet.fault</c> of one resource, read from the fault file (0 when the file says nothing); <c>&lt;resource&gt;.hang=1</c> makes it hang.</summary>
internal sealed class FaultProbe(FaultFile file, string resource) : IProbe
{
    public const string Signal = "fleet.fault";

    private static readonly SignalDescriptor[] Descriptors = [new(Signal, "{fault}", "The fault the test declared for the resource (0 none, 1 faulted).")];

    public string Resource => resource;

    public IReadOnlyList<SignalDescriptor> Signals => Descriptors;

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        // "<resource>.hang=1" in the file: the probe hangs until its timeout (a server that stopped answering).
        if (file.Read(resource + ".hang", 0) > 0)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        writer.Write(Signal, file.Read(resource, 0));
    }
}
