using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;
using static Reconciliation.Redis.Tests.Coordination.CoordinationTestSupport;

namespace Reconciliation.Redis.Tests.Coordination;

public sealed class RedisCoordinationBuilderExtensionsTests
{
    private const string Password = "coordination-secret-pw";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("KeyPrefix", "")]
    [InlineData("KeyPrefix", "has space:")]
    [InlineData("KeyPrefix", "{unclosed:")]
    [InlineData("LeaseTimeToLive", "00:00:00.500")]
    [InlineData("LeaseTimeToLive", "00:10:01")]
    [InlineData("JournalMaxLength", "10")]
    [InlineData("Database", "-2")]
    public async Task A_bad_option_fails_start_naming_the_full_key_and_never_the_password(string key, string value)
    {
        var error = await StartFailureAsync($"127.0.0.1:6399,password={Password}", o =>
        {
            switch (key)
            {
                case "KeyPrefix": o.KeyPrefix = value; break;
                case "LeaseTimeToLive": o.LeaseTimeToLive = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "JournalMaxLength": o.JournalMaxLength = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: o.Database = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        });

        Assert.Contains($"Reconciliation:Coordination:Redis:{key}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:6399,password=" + Password + ",notAKeyword=1")]
    [InlineData("password=" + Password)]
    public async Task A_bad_configuration_string_fails_start_naming_its_key_without_showing_it(string configuration)
    {
        var error = await StartFailureAsync(configuration, null);

        Assert.Contains("Reconciliation:Coordination:Redis:Configuration", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseRedisCoordination_replaces_the_journal_lease_and_state_store()
    {
        var redis = await RequireServer.RedisAsync();
        var services = new ServiceCollection();
        services.AddStateReconciliation(_ => { }).UseRedisCoordination(redis.ConnectionString, o => o.KeyPrefix = redis.KeyPrefix("coordination-di"));
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<RedisHealJournal>(provider.GetRequiredService<IHealJournal>());
        Assert.IsType<RedisHealLease>(provider.GetRequiredService<IHealLease>());
        Assert.IsType<RedisRuleStateStore>(provider.GetRequiredService<IRuleStateStore>());
        Assert.Same(provider.GetRequiredService<IHealJournal>(), provider.GetRequiredService<RedisHealJournal>());
    }

    [Fact]
    public async Task The_store_connects_with_its_own_client_name_and_the_factory_overload_uses_the_hosts_connection()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true));
        var prefix = redis.KeyPrefix("coordination-client");

        var own = new ServiceCollection();
        own.AddStateReconciliation(_ => { }).UseRedisCoordination(redis.ConnectionString, o => o.KeyPrefix = prefix);
        await using (var provider = own.BuildServiceProvider())
        {
            await provider.GetRequiredService<IRuleStateStore>().SaveAsync("r", RuleStateSnapshot.Empty, Ct);
            var clients = await app.GetServer(app.GetEndPoints()[0]).ClientListAsync();
            Assert.Contains(clients, c => c.Name == "reconciliation-coordination");
        }

        var shared = new ServiceCollection();
        shared.AddSingleton<IConnectionMultiplexer>(app);
        shared.AddStateReconciliation(_ => { }).UseRedisCoordination(sp => sp.GetRequiredService<IConnectionMultiplexer>(), o => o.KeyPrefix = prefix);
        await using (var provider = shared.BuildServiceProvider())
        {
            await provider.GetRequiredService<IRuleStateStore>().SaveAsync("r2", RuleStateSnapshot.Empty, Ct);
        }

        Assert.True(app.IsConnected); // the host's connection is not disposed with the container
        Assert.True(await app.GetDatabase().KeyExistsAsync(prefix + "state:r2"));
    }

    [Fact]
    public async Task The_documented_ACL_user_runs_the_lease_journal_and_state_store()
    {
        await using var redis = await RequireServer.DedicatedRedisAsync();
        await using (var root = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            // Exactly the line of docs/redis.md, "Coordination", "Commands and ACL permissions".
            await root.GetDatabase().ExecuteAsync("ACL", "SETUSER", "coordinator", "on", ">secret", "-@all", "+eval", "+evalsha", "+exists", "+incr", "+hset", "+hget",
                "+pexpire", "+del", "+get", "+set", "+zscore", "+zadd", "+zremrangebyrank", "+xadd", "+xrevrange", "+ping", "+echo", "+client|id", "+client|setname",
                "+client|info", "+hello", "+subscribe", "~reconciliation:*", "&__Booksleeve_MasterChanged");
        }

        var configuration = ConfigurationOptions.Parse(redis.ConnectionString);
        configuration.User = "coordinator";
        configuration.Password = "secret";
        var services = new ServiceCollection();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateReconciliation(_ => { }).UseRedisCoordination(configuration.ToString(includePassword: true), o => o.LeaseTimeToLive = TimeSpan.FromSeconds(2));
        await using var provider = services.BuildServiceProvider();
        var journal = provider.GetRequiredService<IHealJournal>();
        var lease = provider.GetRequiredService<IHealLease>();
        var state = provider.GetRequiredService<IRuleStateStore>();

        await using (var held = await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct))
        {
            Assert.NotNull(held);
            var key = "reconciliation:lease:db";
            await using (var reader = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
            {
                await Eventually.UntilAsync(async () => await reader.GetDatabase().KeyTimeToLiveAsync(key) is { } left && left < TimeSpan.FromSeconds(1.4), "the time to live runs down");
                time.Advance(TimeSpan.FromSeconds(2) / 3); // the renewal, as this user
                await Eventually.UntilAsync(async () => await reader.GetDatabase().KeyTimeToLiveAsync(key) is { } left && left > TimeSpan.FromSeconds(1.6), "the lease was renewed");
            }

            Assert.False(held.Lost.IsCancellationRequested);
            await journal.RecordAsync(Attempt("fix", "db", "a", T0, token: held.FencingToken), Ct);
            await journal.RecordAsync(Attempt("fix", "db", "a", T0, token: held.FencingToken), Ct);
        }

        Assert.NotNull(await lease.TryAcquireAsync("db", TimeSpan.FromMinutes(1), Ct)); // released
        Assert.Equal(2, await journal.CountAttemptsAsync("fix", "db", "a", T0, Ct));
        Assert.Single(await journal.AttemptTimesAsync("fix", null, T0, 1, Ct));
        Assert.Equal(2, (await journal.RecentAsync(5, Ct)).Count);
        await state.SaveAsync("a", new RuleStateSnapshot([], T0), Ct);
        Assert.Equal(T0, (await state.LoadAsync("a", Ct)).BudgetPausedUntil);
    }

    private static async Task<OptionsValidationException> StartFailureAsync(string configuration, Action<RedisCoordinationOptions>? configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero).UseRedisCoordination(configuration, configure);
        using var host = builder.Build();
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
    }
}
