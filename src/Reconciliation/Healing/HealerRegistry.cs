namespace Reconciliation;

/// <summary>
/// The registered healers by name. Several instances may share a name (one per data source, say), but for any resource
/// at most one of them may apply: otherwise the first registered would silently heal every resource, so start fails
/// naming both.
/// </summary>
internal sealed class HealerRegistry
{
    private readonly IHealer[] _healers;

    public HealerRegistry(IEnumerable<IHealer> healers, IReadOnlyCollection<string> resources)
    {
        _healers = healers.ToArray();
        foreach (var group in _healers.GroupBy(h => h.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            foreach (var resource in resources)
            {
                var claiming = group.Where(h => h.AppliesTo(resource)).Take(2).ToArray();
                if (claiming.Length > 1)
                {
                    throw new InvalidOperationException(
                        $"Two healers named '{group.Key}' both apply to resource '{resource}': {claiming[0].GetType().FullName} and " +
                        $"{claiming[1].GetType().FullName}. Give each its own resource (override IHealer.AppliesTo) or its own name.");
                }
            }
        }
    }

    public IHealer? Find(string name, string resource)
    {
        foreach (var healer in _healers)
        {
            if (string.Equals(healer.Name, name, StringComparison.Ordinal) && healer.AppliesTo(resource))
            {
                return healer;
            }
        }

        return null;
    }
}
