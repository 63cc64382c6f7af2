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
}
