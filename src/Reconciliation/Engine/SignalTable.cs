
namespace Reconciliation;

/// <summary>
/// Preallocated storage for every (signal, resource) the registered probes emit: each probe writes into its own
/// contiguous range, and each resource has one <c>probe.failed</c> slot after all probe ranges. NaN = no reading.
/// </summary>
internal sealed class SignalTable
{
    public SignalTable(IReadOnlyList<IProbe> probes)
    {
        var names = new List<string>();
        var resources = new List<string>();
        var units = new List<string>();
        var descriptions = new List<string>();
        var ranges = new (int Offset, int Count)[probes.Count];
        var seen = new HashSet<(string, string)>();

        for (var p = 0; p < probes.Count; p++)
        {
            var probe = probes[p];
            ranges[p] = (names.Count, probe.Signals.Count);
            foreach (var signal in probe.Signals)
            {
                if (!seen.Add((signal.Name, probe.Resource)))
                {
                    throw new InvalidOperationException(
                        $"Two probes emit '{signal.Name}' for resource '{probe.Resource}'. Give each registration its own resource name.");
                }

                names.Add(signal.Name);
                resources.Add(probe.Resource);
                units.Add(signal.Unit);
                descriptions.Add(signal.Description);
            }
        }

        FirstFailedSlot = names.Count;
        var failedSlots = new int[probes.Count];
        var failedByResource = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var p = 0; p < probes.Count; p++)
        {
            if (!failedByResource.TryGetValue(probes[p].Resource, out var slot))
            {
                slot = names.Count;
                failedByResource.Add(probes[p].Resource, slot);
                names.Add(SignalNames.ProbeFailed);
                resources.Add(probes[p].Resource);
                units.Add(SignalUnits.Flag);
                descriptions.Add("1 while a probe of the resource fails or hangs");
            }

            failedSlots[p] = slot;
        }

        Names = [.. names];
        Resources = [.. resources];
        Units = [.. units];
        Descriptions = [.. descriptions];
        Values = new double[Names.Length];
        Array.Fill(Values, double.NaN);
        Probes = new ProbeSlot[probes.Count];
        for (var p = 0; p < probes.Count; p++)
        {
            Probes[p] = new ProbeSlot(probes[p], ranges[p].Offset, ranges[p].Count, failedSlots[p], Values);
        }
    }

    public string[] Names { get; }

    public string[] Resources { get; }

    public string[] Units { get; }

    public string[] Descriptions { get; }

    /// <summary>The live values, written by probes during a tick.</summary>
    public double[] Values { get; }

    public ProbeSlot[] Probes { get; }

    public int FirstFailedSlot { get; }

    public int Count => Names.Length;
}
