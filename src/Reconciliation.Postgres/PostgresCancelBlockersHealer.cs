using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// <c>postgres.cancel-blockers</c> (destructive, opt-in): <c>pg_cancel_backend</c> on the sessions that block a statement of
/// the current database that has waited on a lock longer than <see cref="PostgresReconciliationOptions.CancelBlockersAfter"/>.
/// Cancelling stops the blocker's running statement (its transaction aborts and releases its locks); a blocker idle in a
/// transaction has no statement to cancel, which the outcome reports. Never the probe's own session.
/// </summary>
internal sealed class PostgresCancelBlockersHealer : IHealer
{
    /// <summary>
    /// $1: minimum wait of the blocked statement (interval). One row per distinct blocker; a blocker idle in a transaction
    /// is reported, not signalled (a cancel has nothing to stop there).
    /// </summary>
    internal const string CancelSql = """
        WITH waiting AS (
            SELECT pid, now() - query_start AS waited
            FROM pg_stat_activity
            WHERE datname = current_database()
              AND wait_event_type = 'Lock'
              AND query_start < now() - $1
        ), blockers AS (
            SELECT b.pid, max(w.waited) AS waited
            FROM waiting w, LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid)
            WHERE b.pid <> pg_backend_pid()
            GROUP BY b.pid
        )
        SELECT b.pid, coalesce(s.application_name, ''), s.state, extract(epoch FROM b.waited)::float8,
               CASE WHEN s.state LIKE 'idle in transaction%' THEN false ELSE pg_cancel_backend(b.pid) END
        FROM blockers b
        LEFT JOIN pg_stat_activity s ON s.pid = b.pid
        """;

    private readonly PostgresResource _resource;

    public PostgresCancelBlockersHealer(PostgresResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        _resource = resource;
    }

    /// <inheritdoc />
    public string Name => PostgresHealerNames.CancelBlockers;

    /// <inheritdoc />
    public bool IsDestructive => true;

    /// <inheritdoc />
    public HealScope Scope => HealScope.SharedResource;

    /// <inheritdoc />
    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public string DescribePlan(HealContext context) =>
        $"cancel the statements of sessions on {_resource.Name} that block a statement waiting longer than {PostgresTerminateIdleInTransactionHealer.Seconds(_resource.Options.CancelBlockersAfter)} s";

    /// <inheritdoc />
    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        var cancelled = 0;
        var idle = 0;
        try
        {
            var connection = await _resource.Connector.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var command = new NpgsqlCommand(CancelSql, connection);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = _resource.Options.CancelBlockersAfter });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var pid = reader.GetInt32(0);
                var application = reader.GetString(1);
                var state = reader.IsDBNull(2) ? null : reader.GetString(2);
                if (state is not null && state.StartsWith("idle in transaction", StringComparison.Ordinal))
                {
                    idle++;
                    _resource.Logger.BlockerIdleInTransaction(_resource.Name, pid, application);
                }
                else if (reader.GetBoolean(4))
                {
                    cancelled++;
                    _resource.Logger.BlockerCancelled(pid, application, state, _resource.Name, reader.GetDouble(3));
                }
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return HealOutcome.Failed("permission denied to cancel sessions: grant pg_signal_backend to the probe's role");
        }

        var idleNote = idle > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; {idle} blocker(s) idle in transaction have no statement to cancel (terminate them with {PostgresHealerNames.TerminateIdleInTransaction})")
            : string.Empty;
        if (cancelled > 0)
        {
            return HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture, $"cancelled the statements of {cancelled} blocking session(s){idleNote}"));
        }

        return idle > 0
            ? HealOutcome.Failed("every blocker is idle in transaction" + idleNote)
            : HealOutcome.Skipped("no session blocks a statement waiting longer than " + PostgresTerminateIdleInTransactionHealer.Seconds(_resource.Options.CancelBlockersAfter) + " s");
    }
}
