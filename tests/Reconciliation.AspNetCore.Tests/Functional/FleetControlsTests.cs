using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.AspNetCore.Tests.TestSupport;

namespace Reconciliation.AspNetCore.Tests.Functional;

/// <summary>Two replicas sharing one control store: each one's endpoints show what was changed through the other.</summary>
public sealed class FleetControlsTests
{
    [Fact]
    public async Task A_silence_added_through_one_replica_is_listed_and_on_the_status_of_the_other_before_it_ticks()
    {
        var store = new SharedControlStore();
        await using var first = await StartAsync(store);
        await using var second = await StartAsync(store);

        using var added = await KestrelApp.PostJsonAsync(first.Operator("alice"), "silences", """{"rule":"pool-*","duration":"00:20:00","reason":"failover"}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var id = (await added.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString();

        using var bob = second.Operator("bob");
        var listed = await bob.GetFromJsonAsync<JsonElement>("silences", TestContext.Current.CancellationToken);
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        var status = await KestrelApp.StatusAsync(bob);
        Assert.Equal(id, Assert.Single(status.GetProperty("silences").EnumerateArray()).GetProperty("id").GetString());
        Assert.Null(second.Services.GetRequiredService<IReconciler>().LatestReport); // no tick read it for the second replica
    }

    private static Task<KestrelApp> StartAsync(SharedControlStore store) =>
        KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage") { Value = 0.5 }),
            configure: builder => builder.Services.AddSingleton<IControlStore>(store));
}
