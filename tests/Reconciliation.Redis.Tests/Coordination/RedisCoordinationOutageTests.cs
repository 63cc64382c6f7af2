using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

/// <summary>The coordination Redis (a dedicated one, with a password) is killed and started again on the same port.</summary>
public sealed class RedisCoordinationOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_Redis_is_down_every_call_fails_clearly_and_after_a_restart_they_work_again_with_a_retried_record_stored_once()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = password });
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        services.AddStateReconciliation(_ => { }).UseRedisCoordination(redis.ConnectionString, o => o.KeyPrefix = "{fleet}:");
        await using var provider = services.BuildServiceProvider();
        var journal = provider.GetRequiredService<IHealJournal>();
        var lease = provider.GetRequiredService<IHealLease>();
        var state = provider.GetRequiredService<IRuleStateStore>();
        await journal.RecordAsync(Attempt("fix", "db", "a", T0), Ct);

        await redis.StopAsync(Ct);
        var retried = Attempt("fix", "db", "a", T0.AddMinutes(1));
        var failures = new List<Exception>
        {
            await Assert.ThrowsAnyAsync<RedisException>(async () => await journal.RecordAsync(retried, Ct)),
            await Assert.ThrowsAnyAsync<RedisException>(async () => await journal.CountAttemptsAsync("fix", "db", null, T0, Ct)),
            await Assert.ThrowsAnyAsync<RedisException>(async () => await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct)),
            await Assert.ThrowsAnyAsync<RedisException>(async () => await state.LoadAsync("a", Ct)),
        };
        foreach (var failure in failures)
        {
            Assert.StartsWith("Redis resource 'coordination' did not answer", failure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(password, failure.ToString(), StringComparison.Ordinal);
        }

        await redis.StartAgainAsync(Ct);

        // The client reconnects on its own: the retried write lands once it does, and a second replay is not stored again.
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await journal.RecordAsync(retried, Ct);
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, "the journal accepts writes again");
        await journal.RecordAsync(retried, Ct);

        Assert.Equal([retried], await journal.RecentAsync(10, Ct)); // the server kept no data across the kill (no persistence)
        await using var held = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        Assert.NotNull(held);
        Assert.Equal(RuleStateSnapshot.Empty, await state.LoadAsync("a", Ct));
    }

    [Fact]
    public async Task A_holder_that_cannot_reach_Redis_to_renew_fires_Lost_before_its_time_to_live_is_over()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var ttl = TimeSpan.FromSeconds(30);
        var time = new FakeTimeProvider();
        var lease = new RedisHealLease(connection, new RedisCoordinationOptions { LeaseTimeToLive = ttl }, "replica-a", time);
        await using var held = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = held!.Lost.Register(() => lost.TrySetResult());
        var handle = Assert.IsAssignableFrom<RenewingLeaseHandle>(held);

        var acquiredAt = time.GetUtcNow();
        await redis.StopAsync(Ct);

        // The holder's clock moves on one second per poll; its renewals (every 10 s) fail against the stopped server.
        await Eventually.UntilAsync(() =>
        {
            if (lost.Task.IsCompleted)
            {
                return Task.FromResult(true);
            }

            time.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(false);
        }, "the holder gives the lease up");

        // Not at the first failed renewal (two thirds were left), and not later than the server's own expiry.
        var heldFor = time.GetUtcNow() - acquiredAt;
        Assert.InRange(heldFor, ttl / 3 + TimeSpan.FromSeconds(1), ttl);
        Assert.Contains("the lease was lost", handle.LostReason, StringComparison.Ordinal);
    }
}
