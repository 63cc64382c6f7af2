using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// <c>postgres.terminate-idle-in-transaction</c> (destructive, opt-in: it rolls the sessions' transactions back):
/// <c>pg_terminate_backend</c> on sessions idle in a transaction for longer than
/// <see cref="PostgresReconciliationOptions.TerminateIdleInTransactionAfter"/> (unset: the <c>Above</c> of the calling rule
/// on <c>postgres.idle_in_transaction.max_age</c>, see <see cref="ThresholdFor"/>), and only those in its scope: client
/// backends (never autovacuum, walsenders, background workers) of the app's database whose <c>application_name</c> is one
/// of <see cref="PostgresResource.ApplicationNames"/> AND whose role is one of <see cref="PostgresResource.Roles"/>; never
/// the probe's own. At most <see cref="HealContext.MaxTargets"/> per heal (default
/// <see cref="PostgresReconciliationOptions.DefaultMaxTargets"/>). One signal per session: a session the role may not
/// signal is skipped, not fatal. The outcome says what it left alone and why. Runs under the engine's lease.
/// </summary>
internal sealed class PostgresTerminateIdleInTransactionHealer : IHealer, IPostgresSessionLog
{
    /// <summary>$1 application names; $2 roles; $3 minimum idle time. Every idle-in-transaction session of the database, with why it is out of scope.</summary>
    internal const string CandidatesSql = """
        SELECT s.pid, coalesce(s.application_name, ''), coalesce(s.usename::text, ''), s.backend_start, s.state,
               extract(epoch FROM now() - s.state_change)::float8,
               CASE WHEN s.backend_type IS DISTINCT FROM 'client backend' THEN 'not a client backend (' || coalesce(s.backend_type, '?') || ')'
                    WHEN NOT (s.application_name = ANY($1)) THEN 'other application'
                    WHEN s.usename IS NULL OR NOT (s.usename = ANY($2)) THEN 'other role'
               END
        FROM pg_stat_activity s
        WHERE s.datname = current_database()
          AND s.state IN ('idle in transaction', 'idle in transaction (aborted)')
          AND s.state_change < now() - $3
          AND s.pid <> pg_backend_pid()
        ORDER BY s.state_change
        """;

    /// <summary>$1 pid, $2 backend_start: terminates the session only while it is the one found and still idle in a transaction.</summary>
    internal const string TerminateSql = """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid = $1 AND backend_start = $2 AND state IN ('idle in transaction', 'idle in transaction (aborted)')
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
    public bool IsDestructive => true;

    /// <inheritdoc />
    public HealScope Scope => HealScope.SharedResource;

    /// <inheritdoc />
    public bool AppliesTo(string resource) => string.Equals(resource, _resource.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public string DescribePlan(HealContext context) =>
        string.Create(CultureInfo.InvariantCulture,
            $"terminate up to {PostgresResource.MaxTargets(context)} client sessions of {Describe(_resource.ApplicationNames)} as role {Describe(_resource.Roles)} on {_resource.Name} idle in transaction longer than {Seconds(ThresholdFor(context, _resource.Options))} s (their transactions roll back)");

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

        var threshold = ThresholdFor(context, _resource.Options);
        var targets = new PostgresSessionTargets { Cap = PostgresResource.MaxTargets(context) };
        try
        {
            await _resource.Connector.UseAsync(async (connection, _, ct) =>
            {
                var command = new NpgsqlCommand(CandidatesSql, connection);
                await using var commandScope = command.ConfigureAwait(false);
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = _resource.ApplicationNames });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = _resource.Roles });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = threshold });
                foreach (var candidate in await PostgresSessionTargets.ReadAsync(command, ct).ConfigureAwait(false))
                {
                    if (candidate.Excluded is { } why)
                    {
                        targets.LeaveAlone(why);
                    }
                    else if (await targets.SignalAsync(connection, TerminateSql, candidate, this, ct).ConfigureAwait(false))
                    {
                        _resource.Logger.SessionTerminated(candidate.Pid, candidate.Application, candidate.Role, _resource.Name, candidate.Seconds);
                    }
                }

                return 0;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return HealOutcome.Failed("permission denied to read sessions: grant pg_monitor (or pg_read_all_stats) to the probe's role");
        }

        var leftAlone = targets.LeftAlone("session");
        if (leftAlone.Length > 0)
        {
            _resource.Logger.SessionsLeftAlone(_resource.Name, Name, leftAlone[2..]);
        }

        if (targets.Acted > 0)
        {
            return HealOutcome.Healed(string.Create(CultureInfo.InvariantCulture,
                $"terminated {targets.Acted} session(s) of {Describe(_resource.ApplicationNames)} idle in transaction{leftAlone}"));
        }

        return targets.NotPermitted > 0
            ? HealOutcome.Failed("no session terminated" + leftAlone)
            : HealOutcome.Skipped(string.Create(CultureInfo.InvariantCulture,
                $"no session in scope ({Describe(_resource.ApplicationNames)} as {Describe(_resource.Roles)}) idle in transaction longer than {Seconds(threshold)} s{leftAlone}"));
    }

    /// <summary>
    /// The idle time past which a session is terminated for this heal: the option when set; otherwise the calling rule's
    /// limit when it watches <c>postgres.idle_in_transaction.max_age</c> (seconds), so the healer acts on exactly the sessions
    /// that opened the violation; otherwise the one-minute default.
    /// </summary>
    internal static TimeSpan ThresholdFor(HealContext context, PostgresReconciliationOptions options)
    {
        if (options.TerminateIdleInTransactionAfter is { } set)
        {
            return set;
        }

        return string.Equals(context.Signal, PostgresSignalNames.IdleInTransactionMaxAge, StringComparison.Ordinal)
            && double.IsFinite(context.Limit) && context.Limit >= 0 && context.Limit < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(context.Limit)
            : PostgresReconciliationOptions.DefaultTerminateIdleInTransactionAfter;
    }

    void IPostgresSessionLog.NotPermitted(PostgresSessionCandidate candidate, string serverMessage) =>
        _resource.Logger.SessionNotPermitted(_resource.Name, Name, candidate.Pid, candidate.Application, candidate.Role, SecretScrubber.Scrub(serverMessage));

    internal static string Describe(string[] values) => values.Length == 0 ? "(none)" : "'" + string.Join("', '", values) + "'";

    internal static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
