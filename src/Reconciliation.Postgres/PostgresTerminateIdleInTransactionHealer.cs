using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// <c>postgres.terminate-idle-in-transaction</c>: <c>pg_terminate_backend</c> on sessions of the current database that are
/// idle in a transaction for longer than <see cref="PostgresReconciliationOptions.TerminateIdleInTransactionAfter"/>, and
/// only those whose <c>application_name</c> is one of this app's (<see cref="PostgresResource.ApplicationNames"/>): never
/// another application's session, never the probe's own. Their transactions roll back and their locks are released.
/// Acts on the shared server, so it runs under the engine's lease (one replica at a time).
/// </summary>
internal sealed class PostgresTerminateIdleInTransactionHealer : IHealer
{
    /// <summary>$1: application names (text[]); $2: minimum idle time (interval).</summary>
    internal const string TerminateSql = """
        SELECT pid, application_name, extract(epoch FROM now() - state_change)::float8, pg_terminate_backend(pid)
        FROM pg_stat_activity
        WHERE datname = current_database()
          AND state IN ('idle in transaction', 'idle in transaction (aborted)')
          AND application_name = ANY($1)
          AND state_change < now() - $2
          AND pid <> pg_backend_pid()
        """;

    private readonly PostgresResource _resource;

    public PostgresTerminateIdleInTransactionHealer(PostgresResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _resource = resource;
    }

    /// <inheritdoc />
    public string Name => PostgresHealerNames.TerminateIdleInTransaction;

    /// <inheritdoc />
    public bool IsDestructive => false;

    /// <inheritdoc />
    public HealScope Scope => HealScope.SharedResource;

    /// <inheritdoc />
    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public string DescribePlan(HealContext context) =>
        $"terminate sessions of {Describe(_resource.ApplicationNames)} on {_resource.Name} idle in transaction longer than {Seconds(_resource.Options.TerminateIdleInTransactionAfter)} s";

    /// <inheritdoc />
    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (_resource.ApplicationNames.Length == 0)
        {
            return HealOutcome.Skipped("no application_name to match: set Application Name on the data source or ApplicationNames");
        }

        var terminated = 0;
        var refused = 0;
        try
        {
            var connection = await _resource.Connector.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var command = new NpgsqlCommand(TerminateSql, connection);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = _resource.ApplicationNames });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = _resource.Options.TerminateIdleInTransactionAfter });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetBoolean(3))
                {
                    terminated++;
                    _resource.Logger.SessionTerminated(reader.GetInt32(0), reader.GetString(1), _resource.Name, reader.GetDouble(2));
                }
                else
                {
                    // The session ended on its own between the scan and the signal.
                    refused++;
                }
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return HealOutcome.Failed("permission denied to terminate sessions: grant pg_signal_backend to the probe's role");
        }

        return terminated > 0
            ? HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture, $"terminated {terminated} session(s) of {Describe(_resource.ApplicationNames)} idle in transaction"))
            : HealOutcome.Skipped(refused > 0
                ? "the matching sessions ended before they were terminated"
                : $"no session of {Describe(_resource.ApplicationNames)} idle in transaction longer than {Seconds(_resource.Options.TerminateIdleInTransactionAfter)} s");
    }

    internal static string Describe(string[] applications) => applications.Length == 0 ? "(no application)" : "'" + string.Join("', '", applications) + "'";

    internal static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
