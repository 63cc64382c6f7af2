using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Reconciliation.AspNetCore.Tests.TestSupport;

namespace Reconciliation.AspNetCore.Tests.Builder;

/// <summary>Mapping the controls without saying who may change them fails at start, with a message that says what to do.</summary>
public sealed class MapReconciliationStartupTests
{
    [Fact]
    public async Task Mapping_without_a_mutation_policy_fails_at_start_and_names_the_option()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage")),
            map: app => app.MapReconciliation("/reconciliation", o => o.AllowAnonymousReads = true)));

        Assert.Contains("MutationPolicy", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowAnonymousMutations", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_with_a_policy_nobody_registered_fails_at_start_and_names_it()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage")),
            map: app => app.MapReconciliation("/reconciliation", o => o.MutationPolicy = "opperators")));

        Assert.Contains("'opperators'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_mutation_is_possible_only_by_explicit_choice()
    {
        await using var app = await KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage") { Value = 0.5 }),
            map: app => app.MapReconciliation("/reconciliation", o => o.AllowAnonymousMutations = true));
        using var anonymous = app.Client();

        var report = await KestrelApp.TickAsync(anonymous);

        Assert.Equal(1, report.GetProperty("tick").GetInt64());
        Assert.True((await KestrelApp.StatusAsync(anonymous)).GetProperty("canMutate").GetBoolean());
    }
}
