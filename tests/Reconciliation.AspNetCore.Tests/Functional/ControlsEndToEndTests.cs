using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reconciliation.AspNetCore.Tests.TestSupport;

namespace Reconciliation.AspNetCore.Tests.Functional;

/// <summary>
/// The controls through the endpoints, end to end: a real Kestrel app, the real engine and its own control, ticks run
/// through <c>POST tick</c> on a fake clock.
/// </summary>
public sealed class ControlsEndToEndTests
{
    private const string Rule = "pool-saturation";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_operator_silences_a_rule_and_the_next_ticks_detect_but_do_not_heal_it_until_the_silence_is_expired()
    {
        var probe = new SettableProbe("db", "pool.usage") { Value = 0.95 };
        var healer = new CountingHealer("test.clear-pool");
        await using var app = await StartAsync(probe, healer);
        using var alice = app.Operator("alice");

        using var added = await KestrelApp.PostJsonAsync(alice, "silences", $$"""{"rule":"{{Rule}}","duration":"01:00:00","reason":"failover drill"}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var id = (await added.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString()!;

        for (var tick = 1; tick <= 3; tick++)
        {
            await KestrelApp.TickAsync(alice);
            app.Time.Advance(Interval);
        }

        Assert.Equal(0, healer.Runs);
        var status = await KestrelApp.StatusAsync(alice);
        var violation = OpenViolation(status);
        Assert.Equal(id, violation.GetProperty("silencedBy").GetString()); // detected and reported, held by the silence
        var silence = Assert.Single(status.GetProperty("silences").EnumerateArray());
        Assert.Equal(("alice", "failover drill"), (silence.GetProperty("owner").GetString(), silence.GetProperty("reason").GetString()));

        // The silence was what held it: expired, the next tick heals.
        using var expired = await alice.DeleteAsync($"silences/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, expired.StatusCode);
        await KestrelApp.TickAsync(alice);
        await healer.FirstRun.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(1, healer.Runs);
    }

    [Fact]
    public async Task An_operator_approves_a_proposal_and_its_heal_runs_once()
    {
        var probe = new SettableProbe("db", "pool.usage") { Value = 0.95 };
        var healer = new CountingHealer("test.clear-pool");
        await using var app = await StartAsync(probe, healer, approval: ApprovalMode.Propose);
        using var alice = app.Operator("alice");

        for (var tick = 1; tick <= 3; tick++)
        {
            await KestrelApp.TickAsync(alice);
            app.Time.Advance(Interval);
        }

        Assert.Equal(0, healer.Runs); // proposed, not run
        var proposals = await alice.GetFromJsonAsync<JsonElement>("proposals", TestContext.Current.CancellationToken);
        var proposal = Assert.Single(proposals.EnumerateArray()); // one proposal for the open violation, not one per tick
        Assert.Equal((Rule, "db", healer.Name, "Pending"),
            (proposal.GetProperty("rule").GetString(), proposal.GetProperty("resource").GetString(), proposal.GetProperty("healer").GetString(), proposal.GetProperty("state").GetString()));
        var id = proposal.GetProperty("id").GetString()!;
        Assert.Equal(id, OpenViolation(await KestrelApp.StatusAsync(alice)).GetProperty("proposalId").GetString());

        using var approved = await KestrelApp.PostJsonAsync(app.Operator("bob"), $"proposals/{id}/approve", """{"comment":"clear it"}""");
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("bob", (await approved.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("decidedBy").GetString());

        await KestrelApp.TickAsync(alice);
        await healer.FirstRun.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The healer does not fix the reading: the violation stays open, and the approval is spent after one run.
        for (var tick = 0; tick < 4; tick++)
        {
            app.Time.Advance(Interval);
            await KestrelApp.TickAsync(alice);
        }

        Assert.Equal(1, healer.Runs);
        Assert.Equal(HttpStatusCode.NotFound, (await KestrelApp.PostJsonAsync(alice, $"proposals/{id}/approve", "{}")).StatusCode); // decided once
    }

    private static Task<KestrelApp> StartAsync(SettableProbe probe, CountingHealer healer, ApprovalMode? approval = null) =>
        KestrelApp.StartAsync(b => b.AddProbe(_ => probe).AddHealer(_ => healer).AddRule(Rule, r =>
        {
            r.Signal = "pool.usage";
            r.Above = 0.9;
            r.Clear = 0.7;
            r.Heal.Add(healer.Name);
            r.Approval = approval;
        }));

    private static JsonElement OpenViolation(JsonElement status) =>
        Assert.Single(status.GetProperty("violations").EnumerateArray(), v => v.GetProperty("rule").GetString() == Rule && v.GetProperty("state").GetString() != "Closed");
}
