using NpgsqlTypes;

namespace Reconciliation.Postgres;

/// <summary>
/// Each replica's rule state (open violations, their heal progress, <c>For</c> timers, the budget pause) in the
/// PostgreSQL table <c>rule_state</c>, one JSON document per replica (<c>UsePostgresCoordination</c>), so a restarted
/// replica resumes its episodes. Saving an empty state deletes the row.
/// </summary>
public sealed class PostgresRuleStateStore : IRuleStateStore
{
    private readonly PostgresCoordinationStore _store;

    internal PostgresRuleStateStore(PostgresCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public async ValueTask<RuleStateSnapshot> LoadAsync(string replica, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        var json = await _store.RunAsync("load the saved rule state", _store.Sql.LoadState, p => p.AddWithValue("replica", NpgsqlDbType.Text, replica),
            static async (command, ct) => await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as string, cancellationToken).ConfigureAwait(false);
        return json is null ? RuleStateSnapshot.Empty : RuleStateSnapshot.FromJson(json);
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(string replica, RuleStateSnapshot state, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(replica);
        ArgumentNullException.ThrowIfNull(state);
        if (state.Rules.Count == 0 && state.BudgetPausedUntil is null)
        {
            await _store.RunAsync("delete the saved rule state", _store.Sql.DeleteState, p => p.AddWithValue("replica", NpgsqlDbType.Text, replica),
                static (command, ct) => command.ExecuteNonQueryAsync(ct), cancellationToken).ConfigureAwait(false);
            return;
        }

        await _store.RunAsync("save the rule state", _store.Sql.SaveState, p =>
        {
            p.AddWithValue("replica", NpgsqlDbType.Text, replica);
            p.AddWithValue("state", NpgsqlDbType.Text, state.ToJson());
        }, static (command, ct) => command.ExecuteNonQueryAsync(ct), cancellationToken).ConfigureAwait(false);
    }
}
