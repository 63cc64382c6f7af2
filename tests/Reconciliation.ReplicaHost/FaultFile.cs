using System.Globalization;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// A file the test writes (atomically, by rename) to play a shared resource's state: <c>key=value</c> lines, e.g.
/// <c>shared=1</c> (the fault of resource <c>shared</c>), <c>local=1</c>, and <c>hang=20</c> (seconds the hanging healer
/// waits when it starts), <c>local.hang=1</c> (the probe of resource <c>local</c> hangs until its timeout). Every replica on
/// the machine reads the same file: one resource, several replicas.
/// </summary>
internal sealed class FaultFile(string path)
{
    public double Read(string key, double fallback)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return fallback;
        }

        foreach (var line in lines)
        {
            var at = line.IndexOf('=', StringComparison.Ordinal);
            if (at > 0 && string.Equals(line[..at].Trim(), key, StringComparison.Ordinal)
                && double.TryParse(line[(at + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return fallback;
    }
}
