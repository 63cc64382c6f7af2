using Npgsql;

namespace Reconciliation.Sample.Orders.Faults;

/// <summary>
/// Faults that can only be injected from inside the service (the demo injects the others from outside):
/// a slow endpoint, and request handlers that hold pool connections inside transactions they never finish.
/// </summary>
public sealed class FaultSwitchboard(NpgsqlDataSource dataSource)
{
    private readonly List<NpgsqlConnection> _held = [];
    private TimeSpan _latency;

    /// <summary>Extra latency added to GET /orders/{id}.</summary>
    public TimeSpan Latency { get => _latency; set => _latency = value; }

    /// <summary>Connections currently held by the fault (those not yet broken by a heal).</summary>
    public int Held
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    public Task ApplyLatencyAsync(CancellationToken cancellationToken) =>
        _latency > TimeSpan.Zero ? Task.Delay(_latency, cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// Takes <paramref name="count"/> connections from the app's pool, opens a transaction on each and waits forever —
    /// the bug of a handler that began a transaction and awaits something that never comes. Each holder lets go only when
    /// its session is terminated on the server (as the idle-in-transaction healer does).
    /// </summary>
    public async Task HoldConnectionsAsync(int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using (var begin = new NpgsqlCommand("BEGIN; SELECT 1", connection))
            {
                await begin.ExecuteNonQueryAsync(cancellationToken);
            }

            lock (_held)
            {
                _held.Add(connection);
            }

            _ = WaitUntilBrokenAsync(connection);
        }
    }

    private async Task WaitUntilBrokenAsync(NpgsqlConnection connection)
    {
        try
        {
            // Waits for server notifications; a terminated session ends it with an error.
            await connection.WaitAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_held)
            {
                _held.Remove(connection);
            }

            await connection.DisposeAsync();
        }
    }
}
