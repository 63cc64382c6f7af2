using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.DependencyInjection;

public sealed class RedisReconciliationBuilderExtensionsTests
{
    [Theory]
    [InlineData("HitRatioWindow", "00:00:00")]
    [InlineData("ConfigRefreshInterval", "-00:00:01")]
    [InlineData("MaxMemoryPolicy", "lru-everything")]
    [InlineData("MaxMemory", "-1")]
    [InlineData("EvictPrefix", " ")]
    [InlineData("EvictBatchSize", "0")]
    [InlineData("EvictMaxKeys", "0")]
    [InlineData("Database", "-2")]
    public async Task A_bad_option_fails_start_naming_the_full_configuration_key(string key, string value)
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Reconciliation:Redis:cache:{key}"] = value })
            .Build();

        await using var harness = ReconcilerHarnessOrError(b => b.AddRedis("cache", app, configuration.GetSection("Reconciliation:Redis:cache")), out var error);

        Assert.Null(harness);
        var failure = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains($"Reconciliation:Redis:cache:{key}", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_option_in_code_names_the_resource_key()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);

        await using var harness = ReconcilerHarnessOrError(b => b.AddRedis(app, o => o.HitRatioWindow = TimeSpan.Zero), out var error);

        Assert.Null(harness);
        Assert.Contains("Redis:redis:HitRatioWindow", Assert.IsType<OptionsValidationException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registering_the_same_resource_name_twice_fails_at_once()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var builder = new ServiceCollection().AddStateReconciliation(_ => { });
        builder.AddRedis(app);

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddRedis(app));

        Assert.Contains("'redis'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_DI_overload_and_a_named_overload_make_two_resources_each_with_its_probe_and_healers()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var harness = ReconcilerHarness.Create(
            b => b.AddRedis().AddRedis("sessions", app),
            services => services.AddSingleton<IConnectionMultiplexer>(app));

        var report = await harness.TickAsync();

        foreach (var resource in new[] { RedisReconciliationDefaults.ResourceName, "sessions" })
        {
            Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, resource));
            Assert.NotNull(report.ValueOf(RedisSignalNames.Latency, resource));
            Assert.InRange(report.ValueOf(RedisSignalNames.ClientsUsage, resource)!.Value, double.Epsilon, 1);
            var healers = harness.Services.GetServices<IHealer>().Where(h => h.AppliesTo(resource)).Select(h => h.Name).ToArray();
            Assert.Contains(RedisHealerNames.SetPolicy, healers);
            Assert.Contains(RedisHealerNames.Reconnect, healers);
            Assert.DoesNotContain(RedisHealerNames.EvictPrefix, healers); // no EvictPrefix configured: nothing is ours to evict
        }
    }

    [Fact]
    public async Task Latency_is_the_INFO_round_trip_in_seconds_on_the_real_clock()
    {
        var redis = await RequireServer.RedisAsync();
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero).AddRedis(app);
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<IReconciler>().ReconcileOnceAsync(TestContext.Current.CancellationToken);

        Assert.InRange(report.ValueOf(RedisSignalNames.Latency, "redis")!.Value, double.Epsilon, 5);
    }

    private static ReconcilerHarness? ReconcilerHarnessOrError(Action<IReconciliationBuilder> configure, out Exception? error)
    {
        try
        {
            error = null;
            return ReconcilerHarness.Create(configure);
        }
        catch (OptionsValidationException e)
        {
            error = e;
            return null;
        }
    }
}
