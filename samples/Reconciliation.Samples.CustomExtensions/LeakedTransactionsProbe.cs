using Npgsql;

namespace Reconciliation.Samples.CustomExtensions;

/// <summary>
/// A custom probe, written the way docs/custom-probes-and-healers.md describes: one resource, one round trip,
/// cancellation honoured. It counts sessions of one application that sit idle inside an open transaction.
/// </summary>
public sealed class LeakedTransactionsProbe(NpgsqlDataSource dataSource, string resource, string applicationName) : IProbe
{
    /// <summary>The signal this probe writes.</summary>
    public const string Signal = "demo.leaked_transactions";

    public string Resource => resource;

    public IReadOnlyList<SignalDescriptor> Signals { get; } =
        [new(Signal, SignalUnits.Count, "Sessions of the application idle in an open transaction.")];

    public async ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND application_name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = applicationName });
        var count = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        writer.Write(0, count);
    }
}
