using Npgsql;

namespace Reconciliation.Samples.CustomExtensions;

/// <summary>
/// A custom healer: terminates the sessions the probe counted, and only those (one application's, never ours).
/// It is destructive — it ends sessions — so the engine runs it only when the host opted in by name.
/// </summary>
public sealed class TerminateLeakedTransactionsHealer(NpgsqlDataSource dataSource, string ownResource, string applicationName) : IHealer
{
    /// <summary>The healer's name, as rules refer to it.</summary>
    public const string HealerName = "demo.terminate-leaked";

    public string Name => HealerName;

    public bool IsDestructive => true;

    public HealScope Scope => HealScope.SharedResource;

    public bool AppliesTo(string resource) => resource == ownResource;

    public string DescribePlan(HealContext context) =>
        $"terminate the sessions of application '{applicationName}' that are idle in a transaction";

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity " +
            "WHERE state = 'idle in transaction' AND application_name = $1 AND pid <> pg_backend_pid()");
        command.Parameters.Add(new NpgsqlParameter { Value = applicationName });
        var terminated = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return terminated == 0
            ? HealOutcome.Skipped("no leaked session left to terminate")
            : HealOutcome.Healed($"terminated {terminated} session(s)");
    }
}
