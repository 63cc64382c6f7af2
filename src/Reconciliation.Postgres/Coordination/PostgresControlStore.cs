using NpgsqlTypes;

namespace Reconciliation.Postgres;

/// <summary>
/// The operator controls (silences, proposals, an operator's pause) shared by the fleet in the PostgreSQL table
/// <c>control_state</c>: one JSON document with a version, written with compare-and-swap (<c>UsePostgresCoordination</c>).
/// </summary>
public sealed class PostgresControlStore : IControlStore
{
    private readonly PostgresCoordinationStore _store;

    internal PostgresControlStore(PostgresCoordinationStore store) => _store = store;

    /// <inheritdoc />
    public Task<ControlDocument?> ReadAsync(CancellationToken cancellationToken) =>
        _store.RunAsync("read the operator controls", _store.Sql.ReadControl, static _ => { }, static async (command, ct) =>
        {
            var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var scope = reader.ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? new ControlDocument(reader.GetString(0), reader.GetInt64(1)) : null;
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> TryWriteAsync(string json, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(json);
        var rows = await _store.RunAsync("write the operator controls", expectedVersion == 0 ? _store.Sql.InsertControl : _store.Sql.UpdateControl, p =>
        {
            p.AddWithValue("document", NpgsqlDbType.Text, json);
            p.AddWithValue("expected", NpgsqlDbType.Bigint, expectedVersion);
        }, static (command, ct) => command.ExecuteNonQueryAsync(ct), cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }
}
