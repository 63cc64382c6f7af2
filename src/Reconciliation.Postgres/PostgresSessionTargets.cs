using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>One session a session healer found: in its scope (<see cref="Excluded"/> null) or left alone, and why.</summary>
internal sealed record PostgresSessionCandidate(int Pid, string Application, string Role, string? State, DateTime BackendStart, double Seconds, string? Excluded);

/// <summary>
/// Signals the in-scope sessions a healer found, one statement per session, so a session the role may not signal
/// (a superuser's, another role's without <c>pg_signal_backend</c>) is skipped instead of aborting the whole heal; counts
/// what it left alone and why, and stops at the per-heal cap. Each statement re-identifies the session by
/// <c>pid</c> AND <c>backend_start</c> AND the healer's state condition, so a pid reused or a session that moved on
/// between the scan and the signal is never hit.
/// </summary>
internal sealed class PostgresSessionTargets
{
    private readonly SortedDictionary<string, int> _outside = new(StringComparer.Ordinal);

    public int Acted { get; private set; }

    public int NotPermitted { get; private set; }

    public int Ended { get; private set; }

    public int OverCap { get; private set; }

    public int InScope { get; private set; }

    public int Cap { get; init; } = PostgresReconciliationOptions.DefaultMaxTargets;

    /// <summary>Reads the healer's candidate query (columns: pid, application, role, backend_start, state, seconds, excluded).</summary>
    public static async Task<List<PostgresSessionCandidate>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var candidates = new List<PostgresSessionCandidate>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates.Add(new PostgresSessionCandidate(
                reader.GetInt32(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(3) ? default : reader.GetDateTime(3),
                reader.IsDBNull(5) ? 0 : reader.GetDouble(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return candidates;
    }

    public void LeaveAlone(string why)
    {
        _outside[why] = _outside.GetValueOrDefault(why) + 1;
    }

    /// <summary>
    /// Signals <paramref name="candidate"/> with <paramref name="signalSql"/> ($1 pid, $2 backend_start; returns one boolean
    /// row while the session is still the one found, no row otherwise). False when it was not signalled.
    /// </summary>
    public async Task<bool> SignalAsync(NpgsqlConnection connection, string signalSql, PostgresSessionCandidate candidate, IPostgresSessionLog log,
        CancellationToken cancellationToken)
    {
        InScope++;
        if (Acted >= Cap)
        {
            OverCap++;
            return false;
        }

        var command = new NpgsqlCommand(signalSql, connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = candidate.Pid });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = candidate.BackendStart });
        try
        {
            var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (result is true)
            {
                Acted++;
                return true;
            }

            // No row: the session ended or moved on since the scan. False: the server declined (older servers warn instead of raising).
            Ended++;
            return false;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            NotPermitted++;
            log.NotPermitted(candidate, e.MessageText);
            return false;
        }
    }

    /// <summary>What was left alone and why: "2 outside scope: other role; 1 not permitted; MaxTargets 10 bound: 3 more wait".</summary>
    public string LeftAlone(string noun)
    {
        var parts = new List<string>();
        foreach (var (why, count) in _outside)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{count} {noun}(s) outside scope: {why}"));
        }

        if (NotPermitted > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"{NotPermitted} {noun}(s) in scope not permitted to signal (a superuser's session, or the probe's role lacks pg_signal_backend / membership of the session's role): skipped"));
        }

        if (Ended > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{Ended} {noun}(s) ended or moved on before the signal"));
        }

        if (OverCap > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"MaxTargets {Cap} bound: {OverCap} more {noun}(s) in scope left for the next heal"));
        }

        var text = new StringBuilder();
        if (parts.Count > 0)
        {
            text.Append("; left alone: ").AppendJoin("; ", parts);
        }

        return text.ToString();
    }
}

/// <summary>The healer's log for a session it may not signal.</summary>
internal interface IPostgresSessionLog
{
    void NotPermitted(PostgresSessionCandidate candidate, string serverMessage);
}
