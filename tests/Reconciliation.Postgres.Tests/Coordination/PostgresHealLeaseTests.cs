using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Coordination;

/// <summary>
/// The lease on a real server. The store's clock is a fake one, so a handle renews only when a test moves it; the
/// lease's expiry runs on the server's clock, so tests wait for it with <see cref="Eventually"/>.
/// </summary>
public sealed class PostgresHealLeaseTests
{
    private static readonly TimeSpan ShortTtl = TimeSpan.FromSeconds(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_holder_is_refused_while_the_lease_is_held_and_gets_it_after_the_time_to_live_with_a_greater_token()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresHealLeaseTests) + "_ttl", o => o.LeaseTimeToLive = ShortTtl);
        var a = store.LeaseFor("replica-a");
        var b = store.LeaseFor("replica-b");

        var first = await a.TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct);
        Assert.NotNull(first);
        Assert.Null(await b.TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct));
        Assert.Equal("replica-a", await store.ScalarAsync<string>("SELECT holder FROM reconciliation.heal_lease WHERE resource = 'db'"));

        // Nobody renews it (the store's clock stands still): it expires on the server after its time to live.
        IHealLeaseHandle? second = null;
        Assert.True(await Eventually.HoldsAsync(async () => (second = await b.TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct)) is not null),
            "the second holder gets the lease once the first one's time to live has passed");
        Assert.True(second!.FencingToken > first!.FencingToken);
        Assert.Equal("replica-b", await store.ScalarAsync<string>("SELECT holder FROM reconciliation.heal_lease WHERE resource = 'db'"));
        Assert.True(await store.ScalarAsync<bool>("SELECT expires_at > now() FROM reconciliation.heal_lease WHERE resource = 'db'"));

        // The first holder's release does not free the lease the second one holds now.
        await first.DisposeAsync();
        Assert.Null(await a.TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct));
        await second.DisposeAsync();
    }

    [Fact]
    public async Task Tokens_strictly_increase_and_a_release_lets_the_next_holder_in_at_once()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresHealLeaseTests) + "_tokens");
        var tokens = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var lease = store.LeaseFor(i % 2 == 0 ? "replica-a" : "replica-b");
            var handle = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
            Assert.NotNull(handle);
            tokens.Add(handle.FencingToken);
            await handle.DisposeAsync(); // default time to live is 30 s: only the release lets the next one in
        }

        var other = await store.Lease.TryAcquireAsync("cache", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(other);
        tokens.Add(other.FencingToken);
        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());

        // The released row stays with its token (the fencing check reads it), marked expired.
        Assert.Equal(tokens[4], await store.ScalarAsync<long>("SELECT token FROM reconciliation.heal_lease WHERE resource = 'db'"));
        Assert.True(await store.ScalarAsync<bool>("SELECT expires_at = '-infinity' FROM reconciliation.heal_lease WHERE resource = 'db'"));
        await other.DisposeAsync();
    }

    [Fact]
    public async Task Concurrent_acquirers_of_one_free_resource_get_it_exactly_once()
    {
        var server = await RequireServer.PostgresAsync();
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresHealLeaseTests) + "_race");
        await store.Store.MigrateAsync(Ct);
        var stores = Enumerable.Range(0, 4).Select(_ => CoordinationTestStore.Over(store.ConnectionString)).ToArray();
        try
        {
            using var start = new Barrier(stores.Length);
            var handles = await Task.WhenAll(stores.Select((s, i) => Task.Run(async () =>
            {
                start.SignalAndWait(Ct);
                return await s.LeaseFor("replica-" + i).TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
            }, Ct)));

            var held = Assert.Single(handles, h => h is not null);
            await held!.DisposeAsync();
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Renewal_keeps_the_lease_past_its_first_time_to_live()
    {
        var ttl = TimeSpan.FromSeconds(4);
        var server = await RequireServer.PostgresAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresHealLeaseTests) + "_renew", o => o.LeaseTimeToLive = ttl, time);
        await using var held = await store.LeaseFor("replica-a").TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct);
        Assert.NotNull(held);
        var firstExpiry = await store.ScalarAsync<DateTime>("SELECT expires_at FROM reconciliation.heal_lease WHERE resource = 'db'");

        // Late in its first time to live (on the server's clock), a third of it passes on the handle's clock: it renews,
        // and the server pushes expires_at a whole time to live past that moment.
        Assert.True(await Eventually.HoldsAsync(async () => await store.ScalarAsync<bool>("SELECT now() > @first - interval '1.5 seconds'", ("first", firstExpiry))));
        time.Advance(ttl / 3);
        DateTime renewedExpiry = default;
        Assert.True(await Eventually.HoldsAsync(async () =>
            (renewedExpiry = await store.ScalarAsync<DateTime>("SELECT expires_at FROM reconciliation.heal_lease WHERE resource = 'db'")) > firstExpiry), "the handle renewed the lease");

        // Once the server's clock is past the first expiry (and before the renewed one), nobody else gets it.
        Assert.True(await Eventually.HoldsAsync(async () => await store.ScalarAsync<bool>("SELECT now() > @first", ("first", firstExpiry))));
        Assert.Null(await store.LeaseFor("replica-b").TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct));
        Assert.True(await store.ScalarAsync<bool>("SELECT now() < @renewed", ("renewed", renewedExpiry)), "the check ran before the renewed expiry (else it proves nothing)");
        Assert.False(held.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task A_renewal_that_finds_another_holders_token_fires_Lost()
    {
        var server = await RequireServer.PostgresAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = await CoordinationTestStore.CreateAsync(server, nameof(PostgresHealLeaseTests) + "_lost", o => o.LeaseTimeToLive = ShortTtl, time);
        await using var stale = await store.LeaseFor("replica-a").TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct);
        Assert.NotNull(stale);
        var lost = new TaskCompletionSource();
        stale.Lost.Register(() => lost.TrySetResult());

        // The holder paused (its clock did not move) past the server's time to live, and another replica took the lease.
        IHealLeaseHandle? next = null;
        Assert.True(await Eventually.HoldsAsync(async () => (next = await store.LeaseFor("replica-b").TryAcquireAsync("db", TimeSpan.FromMinutes(5), Ct)) is not null));
        await using var newer = next!;

        time.Advance(ShortTtl / 3); // the stale holder's renewal runs and is refused
        await lost.Task.WaitAsync(Eventually.DefaultTimeout, Ct);
        Assert.Contains("another holder has it", ((RenewingLeaseHandle)stale).LostReason, StringComparison.Ordinal);

        // Its dispose does not release the newer holder's lease.
        await stale.DisposeAsync();
        Assert.Equal(newer.FencingToken, await store.ScalarAsync<long>("SELECT token FROM reconciliation.heal_lease WHERE resource = 'db' AND expires_at > now()"));
    }
}
