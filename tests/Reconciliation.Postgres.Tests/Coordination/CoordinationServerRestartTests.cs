using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>A dedicated PostgreSQL is stopped and started again under the coordination store.</summary>
public sealed class CoordinationServerRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Calls_fail_with_a_clear_error_while_the_server_is_down_and_a_record_written_again_after_it_is_back_is_stored_once()
    {
        await using var server = await RequireServer.DedicatedPostgresAsync();
        await using var store = CoordinationTestStore.Over(server.ConnectionStringFor("postgres"));
        var before = new HealRecord("fix", "db", "rule", TimeProvider.System.GetUtcNow(), HealOutcomeKind.Healed, null) { Id = Guid.NewGuid(), Replica = "replica-a" };
        await store.Journal.RecordAsync(before, Ct);

        await server.StopAsync(Ct);
        var during = before with { Id = Guid.NewGuid(), StartedAt = before.StartedAt.AddSeconds(1) };
        var write = await Assert.ThrowsAsync<PostgresCoordinationException>(() => store.Journal.RecordAsync(during, Ct).AsTask());
        Assert.StartsWith("PostgreSQL coordination could not record a heal: ", write.Message, StringComparison.Ordinal);
        var lease = await Assert.ThrowsAsync<PostgresCoordinationException>(() => store.Lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct).AsTask());
        Assert.StartsWith("PostgreSQL coordination could not take the lease of a shared resource: ", lease.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PostgresCoordinationException>(() => store.Journal.CountAttemptsAsync("fix", "db", null, before.StartedAt, Ct).AsTask());
        await Assert.ThrowsAsync<PostgresCoordinationException>(() => store.State.LoadAsync("replica-a", Ct).AsTask());
        foreach (var message in new[] { write.Message, lease.Message })
        {
            Assert.DoesNotContain(server.Password, message, StringComparison.Ordinal);
        }

        await server.StartAgainAsync(Ct);

        // What the engine's catching-up journal does: the failed write again, once it answers (pooled connections died
        // with the server, so the first tries may still fail), then once more as a replay of a write that did land.
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await store.Journal.RecordAsync(during, Ct);
                return true;
            }
            catch (PostgresCoordinationException)
            {
                return false;
            }
        }), "the write succeeds once the server is back");
        await store.Journal.RecordAsync(during, Ct);
        await store.Journal.RecordAsync(before, Ct);

        Assert.Equal(2, await store.Journal.CountAttemptsAsync("fix", "db", null, before.StartedAt, Ct));
        Assert.Equal([during.Id, before.Id], (await store.Journal.RecentAsync(10, Ct)).Select(r => r.Id));
        await using var held = await store.Lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(held);
    }
}
