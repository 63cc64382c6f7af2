using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>
/// The Redis lease against a real server. The holders' renewals run on a fake clock (advanced by the test); the lease's
/// time to live runs on the server's clock, so expiry is waited for with <see cref="Eventually"/>.
/// </summary>
public sealed class RedisHealLeaseTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Duration = TimeSpan.FromMinutes(1);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_held_lease_is_refused_to_another_holder_and_names_its_holder_on_the_server()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var time = new FakeTimeProvider();
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", time);

        await using var held = await a.TryAcquireAsync("db", Duration, Ct);

        Assert.NotNull(held);
        Assert.Null(await b.TryAcquireAsync("db", Duration, Ct));
        Assert.Null(await a.TryAcquireAsync("db", Duration, Ct)); // not re-entrant: one heal per resource
        Assert.Equal("replica-a", (string?)await connection.GetDatabase().HashGetAsync(options.KeyPrefix + "lease:db", "holder"));
        await using var other = await b.TryAcquireAsync("cache", Duration, Ct); // another resource is free
        Assert.NotNull(other);
    }

    [Fact]
    public async Task An_expired_lease_is_given_to_the_next_holder_after_its_time_to_live_with_a_greater_token()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis, o => o.LeaseTimeToLive = TimeSpan.FromSeconds(1));
        var time = new FakeTimeProvider(); // never advanced: the first holder never renews, as if it had paused
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", time);
        var first = await a.TryAcquireAsync("db", Duration, Ct);
        Assert.NotNull(first);
        Assert.Null(await b.TryAcquireAsync("db", Duration, Ct));
        var server = connection.GetDatabase();
        var ttl = await server.KeyTimeToLiveAsync(options.KeyPrefix + "lease:db");
        Assert.InRange(ttl!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)); // the time to live is set, not the heal's duration

        IHealLeaseHandle? second = null;
        await Eventually.UntilAsync(async () => (second = await b.TryAcquireAsync("db", Duration, Ct)) is not null, "the expired lease is given to the next holder");

        Assert.True(second!.FencingToken > first.FencingToken);
        Assert.Equal("replica-b", (string?)await server.HashGetAsync(options.KeyPrefix + "lease:db", "holder"));
        await second.DisposeAsync();
    }

    [Fact]
    public async Task Tokens_strictly_increase_per_resource_and_each_resource_has_its_own_counter()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var lease = new RedisHealLease(connection, options, "replica-a", new FakeTimeProvider());
        var tokens = new List<long>();

        for (var i = 0; i < 5; i++)
        {
            await using var held = await lease.TryAcquireAsync("db", Duration, Ct);
            tokens.Add(held!.FencingToken);
        }

        await using var cache = await lease.TryAcquireAsync("cache", Duration, Ct);

        Assert.Equal([1, 2, 3, 4, 5], tokens);
        Assert.Equal(1, cache!.FencingToken);
        Assert.True(await connection.GetDatabase().KeyExistsAsync(options.KeyPrefix + "fence:db"));
        Assert.Null(await connection.GetDatabase().KeyTimeToLiveAsync(options.KeyPrefix + "fence:db")); // the counter never expires
    }

    [Fact]
    public async Task Release_lets_the_next_holder_in_at_once_and_a_stale_holders_release_leaves_the_new_lease()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis);
        var time = new FakeTimeProvider();
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", time);

        var first = await a.TryAcquireAsync("db", Duration, Ct);
        Assert.Null(await b.TryAcquireAsync("db", Duration, Ct));
        await first!.DisposeAsync();
        var second = await b.TryAcquireAsync("db", Duration, Ct);
        Assert.NotNull(second);

        // A holder whose lease expired (deleted here as the server would) and was taken must not release the new one.
        var third = await a.TryAcquireAsync("other", Duration, Ct);
        await connection.GetDatabase().KeyDeleteAsync(options.KeyPrefix + "lease:other");
        var fourth = await b.TryAcquireAsync("other", Duration, Ct);
        await third!.DisposeAsync();

        Assert.Equal(fourth!.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (string?)await LeaseTokenOnServerAsync(connection, options, "other"));
        Assert.Null(await a.TryAcquireAsync("other", Duration, Ct));
        await second.DisposeAsync();
        await fourth.DisposeAsync();
    }

    [Fact]
    public async Task Renewal_every_third_of_the_time_to_live_keeps_the_lease_past_it()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var ttl = TimeSpan.FromSeconds(1);
        var options = Options(redis, o => o.LeaseTimeToLive = ttl);
        var time = new FakeTimeProvider();
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", time);
        var server = connection.GetDatabase();
        var key = options.KeyPrefix + "lease:db";
        await using var held = await a.TryAcquireAsync("db", Duration, Ct);
        var since = Stopwatch.StartNew();
        var renewals = 0;

        // Each round: the server's clock runs the time to live down past a third, then the holder's timer renews it.
        while (since.Elapsed < ttl * 1.5)
        {
            await Eventually.UntilAsync(async () => await server.KeyTimeToLiveAsync(key) is { } left && left < ttl * 0.6, "the time to live runs down");
            time.Advance(ttl / 3);
            await Eventually.UntilAsync(async () => await server.KeyTimeToLiveAsync(key) is { } left && left > ttl * 0.8, "the holder renewed the lease");
            renewals++;
        }

        Assert.True(renewals >= 2);
        Assert.Null(await b.TryAcquireAsync("db", Duration, Ct));
        Assert.Equal(held!.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)await LeaseTokenOnServerAsync(connection, options, "db"));
        Assert.False(held.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task A_renewal_that_finds_another_holders_token_fires_Lost()
    {
        var redis = await RequireServer.RedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options(redis, o => o.LeaseTimeToLive = TimeSpan.FromSeconds(3));
        var time = new FakeTimeProvider();
        var a = new RedisHealLease(connection, options, "replica-a", time);
        var b = new RedisHealLease(connection, options, "replica-b", new FakeTimeProvider());
        await using var held = await a.TryAcquireAsync("db", Duration, Ct);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = held!.Lost.Register(() => lost.TrySetResult());

        // The lease expired on the server (deleted here as the server would) and another replica took it.
        await connection.GetDatabase().KeyDeleteAsync(options.KeyPrefix + "lease:db");
        await using var taken = await b.TryAcquireAsync("db", Duration, Ct);
        Assert.NotNull(taken);
        time.Advance(TimeSpan.FromSeconds(1)); // the holder's next renewal

        await lost.Task.WaitAsync(Bound, Ct);
        Assert.Contains("another holder has it", Assert.IsAssignableFrom<RenewingLeaseHandle>(held).LostReason, StringComparison.Ordinal);
        Assert.Equal(taken!.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)await LeaseTokenOnServerAsync(connection, options, "db"));
    }
}
