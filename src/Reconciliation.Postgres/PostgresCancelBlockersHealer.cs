using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// <c>postgres.cancel-blockers</c> (destructive, opt-in): <c>pg_cancel_backend</c> on the sessions that block a session of
/// the app's database that has waited on a lock longer than <see cref="PostgresReconciliationOptions.CancelBlockersAfter"/>
/// (<c>pg_locks.waitstart</c>, PostgreSQL 14+), and only blockers in its scope: client backends of the app's database
/// with one of <see cref="PostgresResource.ApplicationNames"/> AND one of <see cref="PostgresResource.Roles"/>. Never
/// autovacuum (anti-wraparound included), walsenders, background workers, <c>pg_dump</c> or another service's session,
/// never the probe's own. Cancelling stops the blocker's running statement (its transaction aborts and releases its
/// locks); a blocker idle in a transaction has no statement to cancel, which the outcome reports. At most
/// <see cref="HealContext.MaxTargets"/> per heal; a session the role may not signal is skipped, not fatal.
/// </summary>
internal sealed class PostgresCancelBlockersHealer : IHealer, IPostgresSessionLog
{
    /// <summary>
    /// $1 application names; $2 roles; $3 minimum lock wait. One row per distinct blocker of a waiter of the current
    /// database, with why it is out of scope. <c>pg_blocking_pids</c> runs only for waiters past the wait limit.
    /// </summary>
    internal const string CandidatesSql = """
        WITH waiting AS (
            SELECT l.pid, max(now() - l.waitstart) AS waited
            FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND l.waitstart < now() - $3 AND a.datname = current_database()
            GROUP BY l.pid
        ), blockers AS (
            SELECT b.pid, max(w.waited) AS waited
            FROM waiting w, LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid)
            WHERE b.pid <> pg_backend_pid()
            GROUP BY b.pid
        )
        SELECT b.pid, coalesce(s.application_name, ''), coalesce(s.usename::text, ''), s.backend_start, s.state,
               extract(epoch FROM b.waited)::float8,
               CASE WHEN b.pid = 0 THEN 'a prepared transaction'
                    WHEN s.pid IS NULL THEN 'ended'
                    WHEN s.backend_type IS DISTINCT FROM 'client backend' THEN 'not a client backend (' || coalesce(s.backend_type, '?') || ')'
                    WHEN s.datname IS DISTINCT FROM current_database() THEN 'other database'
                    WHEN NOT (s.application_name = ANY($1)) THEN 'other application'
                    WHEN s.usename IS NULL OR NOT (s.usename = ANY($2)) THEN 'other role'
               END
        FROM blockers b
        LEFT JOIN pg_stat_activity s ON s.pid = b.pid
        ORDER BY b.waited DESC, b.pid
        """;

    /// <summary>$1 pid, $2 backend_start: cancels only while the session is the one found and running a statement.</summary>
    internal const string CancelSql = """
        SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2 AND state = 'active'
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
        string.Create(CultureInfo.InvariantCulture,
            $"cancel the statements of up to {PostgresResource.MaxTargets(context)} client sessions of {PostgresTerminateIdleInTransactionHealer.Describe(_resource.ApplicationNames)} as role {PostgresTerminateIdleInTransactionHealer.Describe(_resource.Roles)} on {_resource.Name} that block a session waiting on a lock longer than {PostgresTerminateIdleInTransactionHealer.Seconds(_resource.Options.CancelBlockersAfter)} s");

    /// <inheritdoc />
    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_resource.ApplicationNames.Length == 0)
        {
            return HealOutcome.Skipped("no application_name in scope: set Application Name on the data source or ApplicationNames");
        }

        if (_resource.Roles.Length == 0)
        {
            return HealOutcome.Skipped("no role in scope: the data source names no user; set Roles");
        }

        var targets = new PostgresSessionTargets { Cap = PostgresResource.MaxTargets(context) };
        var idle = 0;
        var found = 0;
        try
        {
            await _resource.Connector.UseAsync(async (connection, _, ct) =>
            {
                var command = new NpgsqlCommand(CandidatesSql, connection);
                await using var commandScope = command.ConfigureAwait(false);
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = _resource.ApplicationNames });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = _resource.Roles });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = _resource.Options.CancelBlockersAfter });
                foreach (var candidate in await PostgresSessionTargets.ReadAsync(command, ct).ConfigureAwait(false))
                {
                    found++;
                    if (candidate.Excluded is { } why)
                    {
                        targets.LeaveAlone(why);
                    }
                    else if (candidate.State is { } state && state.StartsWith("idle in transaction", StringComparison.Ordinal))
                    {
                        idle++;
                        _resource.Logger.BlockerIdleInTransaction(_resource.Name, candidate.Pid, candidate.Application);
                    }
                    else if (await targets.SignalAsync(connection, CancelSql, candidate, this, ct).ConfigureAwait(false))
                    {
                        _resource.Logger.BlockerCancelled(candidate.Pid, candidate.Application, candidate.Role, candidate.State, _resource.Name, candidate.Seconds);
                    }
                }

                return 0;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return HealOutcome.Failed("permission denied to read sessions and locks: grant pg_monitor to the probe's role");
        }

        var idleNote = idle > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; {idle} blocker(s) in scope idle in transaction have no statement to cancel (terminate them with {PostgresHealerNames.TerminateIdleInTransaction})")
            : string.Empty;
        var leftAlone = targets.LeftAlone("blocker");
        if (leftAlone.Length > 0)
        {
            _resource.Logger.SessionsLeftAlone(_resource.Name, Name, leftAlone[2..]);
        }

        if (targets.Acted > 0)
        {
            return HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture, $"cancelled the statements of {targets.Acted} blocking session(s){idleNote}{leftAlone}"));
        }

        if (idle > 0 || targets.NotPermitted > 0)
        {
            return HealOutcome.Failed("no blocker cancelled" + idleNote + leftAlone);
        }

        return HealOutcome.Skipped(found == 0
            ? "no session blocks a session waiting on a lock longer than " + PostgresTerminateIdleInTransactionHealer.Seconds(_resource.Options.CancelBlockersAfter) + " s"
            : "no blocker in scope" + leftAlone);
    }

    void IPostgresSessionLog.NotPermitted(PostgresSessionCandidate candidate, string serverMessage) =>
        _resource.Logger.SessionNotPermitted(_resource.Name, Name, candidate.Pid, candidate.Application, candidate.Role, SecretScrubber.Scrub(serverMessage));
}
