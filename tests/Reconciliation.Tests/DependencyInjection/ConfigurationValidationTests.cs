using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Tests.TestSupport;

namespace Reconciliation.Tests.DependencyInjection;

/// <summary>Bad configuration fails host start (ValidateOnStart) with a message naming the full key.</summary>
public sealed class ConfigurationValidationTests
{
    private const string Signal = "test.usage";
    private const string Rule = "Reconciliation:Rules:pool-saturation";

    public static TheoryData<string, string?, string> BadValues => new()
    {
        // key, value (null removes the key), the key the message must name
        { $"{Rule}:Clear", "0.9", $"{Rule}:Clear" },                      // Clear on the unhealthy side of Above 0.85
        { $"{Rule}:Heal:0", "no.such-healer", $"{Rule}:Heal:0" },         // unknown healer name
        { $"{Rule}:Signal", "nobody.emits.this", $"{Rule}:Signal" },      // a signal no probe emits
        { $"{Rule}:Below", "0.1", $"{Rule}:Below" },                      // both Above and Below
        { $"{Rule}:Above", null, $"{Rule}: set exactly one of Above and Below (neither" },
        { $"{Rule}:For", "00:00:00", $"{Rule}:For" },                     // zero duration
        { $"{Rule}:For", "-00:00:05", $"{Rule}:For" },                    // negative duration
        { "Reconciliation:Interval", "00:00:00", "Reconciliation:Interval" },
        { "Reconciliation:ProbeTimeout", "-00:00:01", "Reconciliation:ProbeTimeout" },
        { "Reconciliation:Healers:fix:Cooldown", "-00:01:00", "Reconciliation:Healers:fix:Cooldown" },
        { "Reconciliation:Healers:fix:Window", "00:00:00", "Reconciliation:Healers:fix:Window" },
        { $"{Rule}:Healers:fix:VerifyWithin", "00:00:00", $"{Rule}:Healers:fix:VerifyWithin" },
        { "Reconciliation:HealBudget:MaxHeals", "0", "Reconciliation:HealBudget:MaxHeals" },
        { "Reconciliation:AllowDestructive:0", "no.such-healer", "Reconciliation:AllowDestructive:0" },
        // Values that do not even convert: the binder would silently drop the whole rule; start must fail instead.
        { $"{Rule}:Above", "lots", $"{Rule}:Above" },
        { $"{Rule}:Severity", "Catastrophic", $"{Rule}:Severity" },
        { $"{Rule}:Healers:fix:MaxAttempts", "many", $"{Rule}:Healers:fix:MaxAttempts" },
        { "Reconciliation:Interval", "soon", "Reconciliation:Interval" },
        // Operator controls.
        { $"{Rule}:InhibitedBy:0", "no-such-rule", $"{Rule}:InhibitedBy:0" },
        { $"{Rule}:InhibitedBy:0", "pool-saturation", $"{Rule}:InhibitedBy:0 names the rule itself" },
        { $"{Rule}:Approval", "Sometimes", $"{Rule}:Approval" },
        { $"{Rule}:KeepFor", "-00:00:01", $"{Rule}:KeepFor" },
        { $"{Rule}:Flapping:MaxOpens", "-1", $"{Rule}:Flapping:MaxOpens" },
        { "Reconciliation:Flapping:Window", "00:00:00", "Reconciliation:Flapping:Window" },
        { "Reconciliation:ProposalExpiry", "00:00:00", "Reconciliation:ProposalExpiry" },
        { "Reconciliation:Silences:deploy:Rule", "pool-*", "Reconciliation:Silences:deploy:EndsAt is required" },
        { "Reconciliation:Silences:deploy:EndsAt", "whenever", "Reconciliation:Silences:deploy:EndsAt" },
        { "Reconciliation:MaintenanceWindows:nightly:TimeZone", "Mars/Olympus", "Reconciliation:MaintenanceWindows:nightly:TimeZone" },
        { "Reconciliation:MaintenanceWindows:nightly:Times:0:Start", "25:00", "Reconciliation:MaintenanceWindows:nightly:Times:0" },
        { "Reconciliation:MaintenanceWindows:nightly:Weekdays:0", "funday", "Reconciliation:MaintenanceWindows:nightly:Weekdays:0" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task Host_start_fails_with_a_message_naming_the_bad_key(string key, string? value, string expected)
    {
        var data = ValidConfiguration();
        if (value is null)
        {
            data.Remove(key);
        }
        else
        {
            data[key] = value;
        }

        using var host = BuildHost(data);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        var messages = Flatten(error);
        Assert.Contains(messages, m => m.Contains(expected, StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("pool-saturation", StringComparison.Ordinal) || !key.Contains("pool-saturation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_valid_configuration_starts()
    {
        using var host = BuildHost(ValidConfiguration());

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task The_start_failure_is_an_OptionsValidationException_from_ValidateOnStart()
    {
        var data = ValidConfiguration();
        data[$"{Rule}:Clear"] = "0.9";
        using var host = BuildHost(data);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(typeof(ReconciliationOptions), error.OptionsType);
        Assert.Contains($"{Rule}:Clear (0.9) must be at or below Above (0.85)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_section_bound_under_another_parent_is_named_by_its_full_path()
    {
        var data = new Dictionary<string, string?>
        {
            ["App:Reconciliation:Rules:r:Signal"] = Signal,
            ["App:Reconciliation:Rules:r:Above"] = "0.5",
            ["App:Reconciliation:Rules:r:Clear"] = "0.6",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(configuration.GetSection("App:Reconciliation")).AddProbe(_ => new TestProbe("db", Signal));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ReconciliationOptions>>().Value);

        Assert.Contains("App:Reconciliation:Rules:r:Clear", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Code_first_rules_are_validated_too()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddProbe(_ => new TestProbe("db", Signal))
            .AddRule("code-rule", r => { r.Signal = Signal; r.Below = 0.5; r.Clear = 0.4; });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ReconciliationOptions>>().Value);

        Assert.Contains("Reconciliation:Rules:code-rule:Clear", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_and_code_first_rules_merge()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ValidConfiguration()).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(configuration.GetSection("Reconciliation"))
            .AddProbe(_ => new TestProbe("db", Signal))
            .AddHealer(_ => new TestHealer("fix"))
            .AddRule("code-rule", r => { r.Signal = Signal; r.Below = 0.1; })
            .AddRule("pool-saturation", r => r.Severity = RuleSeverity.Unhealthy);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ReconciliationOptions>>().Value;

        Assert.Equal(0.85, options.Rules["pool-saturation"].Above);
        Assert.Equal(RuleSeverity.Unhealthy, options.Rules["pool-saturation"].Severity);
        Assert.Equal(0.1, options.Rules["code-rule"].Below);
    }

    internal static Dictionary<string, string?> ValidConfiguration() => new()
    {
        ["Reconciliation:Interval"] = "00:00:10",
        [$"{Rule}:Signal"] = Signal,
        [$"{Rule}:Above"] = "0.85",
        [$"{Rule}:Clear"] = "0.70",
        [$"{Rule}:For"] = "00:00:30",
        [$"{Rule}:Severity"] = "Degraded",
        [$"{Rule}:Heal:0"] = "fix",
        [$"{Rule}:Healers:fix:Cooldown"] = "00:00:30",
        ["Reconciliation:Healers:fix:Cooldown"] = "00:01:00",
        ["Reconciliation:Healers:fix:MaxAttempts"] = "3",
        ["Reconciliation:Healers:fix:Window"] = "00:10:00",
    };

    private static IHost BuildHost(Dictionary<string, string?> data)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(data);
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        builder.Services.AddStateReconciliation(builder.Configuration.GetSection("Reconciliation"))
            .AddProbe(_ => new TestProbe("db", Signal))
            .AddHealer(_ => new TestHealer("fix"));
        return builder.Build();
    }

    private static List<string> Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.SelectMany(Flatten));
            }
        }

        return messages;
    }
}
