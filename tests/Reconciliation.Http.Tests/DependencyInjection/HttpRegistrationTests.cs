using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Latency;
using Xunit;

namespace Reconciliation.Http.Tests.DependencyInjection;

/// <summary>Registration, configuration binding, and validation at start with messages that name the key.</summary>
public sealed class HttpRegistrationTests
{
    [Theory]
    [InlineData(null, "is required")]
    [InlineData("/hooks/rollback", "must be an absolute http:// or https:// URL")]
    [InlineData("ftp://ci.example.com/rollback", "must be an http:// or https:// URL")]
    public void A_webhook_without_an_absolute_http_url_fails_at_start_naming_the_key(string? url, string problem)
    {
        var configuration = Configuration(new()
        {
            ["Reconciliation:Http:Webhook:Url"] = url,
            ["Reconciliation:Http:Webhook:Secret"] = "do-not-print-me",
        });
        var services = Services();
        services.AddStateReconciliation().AddHttpWebhook(configuration.GetSection("Reconciliation:Http:Webhook"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Reconciliation:Http:Webhook:Url", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("do-not-print-me", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_webhook_configured_in_code_names_its_key_and_its_registration()
    {
        var services = Services();
        services.AddStateReconciliation()
            .AddHttpWebhook("pager", o => o.Timeout = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("HttpWebhook:pager:Url is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("HttpWebhook:pager:Timeout must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_webhook_bound_from_configuration_works()
    {
        var configuration = Configuration(new()
        {
            ["Reconciliation:Http:Webhook:Url"] = "https://ci.example.com/rollback?token=abc",
            ["Reconciliation:Http:Webhook:Timeout"] = "00:00:04",
            ["Reconciliation:Http:Webhook:Resources:0"] = "checkout",
        });
        var services = Services();
        services.AddStateReconciliation().AddHttpWebhook(configuration.GetSection("Reconciliation:Http:Webhook"));
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var options = provider.GetRequiredService<IOptionsMonitor<HttpWebhookOptions>>().Get(Options.DefaultName);
        Assert.Equal(TimeSpan.FromSeconds(4), options.Timeout);
        var healer = provider.GetServices<IHealer>().Single(h => h.Name == HttpHealerNames.Webhook);
        Assert.True(healer.AppliesTo("checkout"));
        Assert.False(healer.AppliesTo("search"));
    }

    [Fact]
    public void An_endpoint_from_configuration_is_validated_naming_its_keys()
    {
        var configuration = Configuration(new()
        {
            ["Reconciliation:Http:Endpoints:api:Uri"] = "file:///etc/passwd",
            ["Reconciliation:Http:Endpoints:api:MinimumRequests"] = "0",
            ["Reconciliation:Http:Endpoints:api:ExpectedStatusCodes:0"] = "42",
        });
        var services = Services();
        services.AddStateReconciliation().AddHttpEndpoint("api", configuration.GetSection("Reconciliation:Http:Endpoints:api"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Reconciliation:Http:Endpoints:api:Uri must be an http:// or https:// URL", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Http:Endpoints:api:MinimumRequests must be at least 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reconciliation:Http:Endpoints:api:ExpectedStatusCodes:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_endpoint_name_twice_is_refused_at_registration()
    {
        var builder = Services().AddStateReconciliation();
        builder.AddHttpEndpoint("api", new Uri("http://127.0.0.1/health"));

        var error = Assert.Throws<ArgumentException>(() => builder.AddHttpEndpoint("api", new Uri("http://127.0.0.1/other")));
        Assert.Contains("'api'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Latency_options_are_validated_at_start_naming_the_key()
    {
        var services = Services();
        services.AddStateReconciliation().AddHttpLatency(o =>
        {
            o.MinimumRequests = 0;
            o.Slices = 100;
            o.RouteGroups["api"] = [];
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("HttpLatency:MinimumRequests must be at least 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("HttpLatency:Slices must be between 1 and 64", error.Message, StringComparison.Ordinal);
        Assert.Contains("HttpLatency:RouteGroups:api needs at least one route prefix", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Latency_route_groups_bound_from_configuration_become_resources_and_a_second_call_adds_no_duplicate()
    {
        var configuration = Configuration(new()
        {
            ["Reconciliation:Http:Latency:MinimumRequests"] = "50",
            ["Reconciliation:Http:Latency:RouteGroups:api:0"] = "/api",
            ["Reconciliation:Http:Latency:RouteGroups:admin:0"] = "/admin",
            ["Reconciliation:Http:Latency:IncludeP95"] = "true",
        });
        var services = Services();
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddHttpLatency(configuration.GetSection("Reconciliation:Http:Latency"))
            .AddHttpLatency();
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var resources = provider.GetServices<IProbe>().OfType<HttpLatencyProbe>().Select(p => p.Resource).Order(StringComparer.Ordinal);
        Assert.Equal(["admin", "api", "http"], resources);
        Assert.Equal(50, provider.GetRequiredService<IOptions<HttpLatencyOptions>>().Value.MinimumRequests);

        var report = await provider.GetRequiredService<IReconciler>().ReconcileOnceAsync(TestContext.Current.CancellationToken);
        Assert.Contains(report.Signals, s => s.Signal == HttpSignalNames.LatencyP95 && s.Resource == "api" && s.Value is null);
        Assert.DoesNotContain(report.Signals, s => s.Signal == HttpSignalNames.LatencyP50);
    }

    [Fact]
    public void A_rule_on_http_latency_is_accepted_once_AddHttpLatency_registered_the_signal()
    {
        var services = Services();
        services.AddStateReconciliation()
            .AddHttpLatency()
            .AddRule("slow", r =>
            {
                r.Signal = HttpSignalNames.LatencyP99;
                r.Resource = "http";
                r.Above = 0.5;
            });
        using var provider = services.BuildServiceProvider();

        Assert.NotNull(provider.GetRequiredService<IReconciler>());
    }

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        return services;
    }

    private static IConfigurationRoot Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
