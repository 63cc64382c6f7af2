using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.AspNetCore.Tests.TestSupport;

namespace Reconciliation.AspNetCore.Tests.Builder;

/// <summary>
/// Who may call which endpoint and what reaches the control, on a real Kestrel app with a recording control (the
/// engine's own control is exercised end to end in <c>Functional/ControlsEndToEndTests</c>).
/// </summary>
public sealed class EndpointWiringTests
{
    private static readonly (HttpMethod Method, string Path, string? Body)[] Mutations =
    [
        (HttpMethod.Post, "silences", """{"rule":"pool-saturation","duration":"01:00:00","reason":"migrating"}"""),
        (HttpMethod.Delete, "silences/s1", null),
        (HttpMethod.Post, "proposals/p1/approve", "{}"),
        (HttpMethod.Post, "proposals/p1/reject", "{}"),
        (HttpMethod.Post, "pause", """{"reason":"incident"}"""),
        (HttpMethod.Post, "resume", "{}"),
        (HttpMethod.Post, "tick", "{}"),
    ];

    [Fact]
    public async Task Anonymous_mutation_is_refused_with_401_and_a_signed_in_user_without_the_policy_with_403_and_nothing_reaches_the_control()
    {
        await using var app = await StartAsync();
        var control = (FakeControl)app.Services.GetRequiredService<IReconciliationControl>();
        using var anonymous = app.Client();
        using var viewer = app.Client("mallory", "viewer");

        foreach (var (method, path, body) in Mutations)
        {
            using var refused = await SendAsync(anonymous, method, path, body);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} as anonymous: {refused.StatusCode}");
            using var forbidden = await SendAsync(viewer, method, path, body);
            Assert.True(forbidden.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} without the policy: {forbidden.StatusCode}");
        }

        Assert.Empty(control.Calls);
        Assert.Empty(control.Silences);
        Assert.Null(app.Services.GetRequiredService<IReconciler>().LatestReport); // no tick ran either
    }

    [Fact]
    public async Task The_caller_is_the_owner_of_a_silence_and_the_decider_of_a_proposal_whatever_the_body_says()
    {
        await using var app = await StartAsync();
        var control = (FakeControl)app.Services.GetRequiredService<IReconciliationControl>();
        control.Propose(Proposal("p1", app.Time.GetUtcNow()));
        using var alice = app.Operator("alice");

        using var added = await KestrelApp.PostJsonAsync(alice, "silences",
            """{"rule":"pool-*","resource":"orders-db","duration":"00:30:00","reason":"failover drill","owner":"someone-else"}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var silence = await added.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal("alice", silence.GetProperty("owner").GetString());
        Assert.Equal("pool-*", silence.GetProperty("rule").GetString());
        Assert.Equal(app.Time.GetUtcNow() + TimeSpan.FromMinutes(30), silence.GetProperty("endsAt").GetDateTimeOffset());
        Assert.EndsWith("/reconciliation/silences/s1", added.Headers.Location!.ToString(), StringComparison.Ordinal);

        using var approved = await KestrelApp.PostJsonAsync(app.Operator("bob"), "proposals/p1/approve", """{"comment":"go"}""");
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var proposal = await approved.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal(("Approved", "bob", "go"), (proposal.GetProperty("state").GetString(), proposal.GetProperty("decidedBy").GetString(), proposal.GetProperty("comment").GetString()));

        using var again = await KestrelApp.PostJsonAsync(alice, "proposals/p1/reject", "{}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode); // decided already

        using var paused = await KestrelApp.PostJsonAsync(alice, "pause", """{"reason":"incident 42","duration":"00:10:00"}""");
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        using var resumed = await KestrelApp.PostJsonAsync(alice, "resume", "{}");
        Assert.Equal(HttpStatusCode.NoContent, resumed.StatusCode);
        using var notPaused = await KestrelApp.PostJsonAsync(alice, "resume", "{}");
        Assert.Equal(HttpStatusCode.Conflict, notPaused.StatusCode);

        using var expired = await alice.DeleteAsync("silences/s1", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, expired.StatusCode);
        using var gone = await alice.DeleteAsync("silences/s1", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        Assert.Equal(
        [
            "silence pool-* by alice",
            "Approved p1 by bob: go",
            "Rejected p1 by alice: ",
            $"pause by alice until {app.Time.GetUtcNow() + TimeSpan.FromMinutes(10):O}: incident 42",
            "resume by alice",
            "resume by alice",
            "expire s1 by alice",
            "expire s1 by alice",
        ], control.Calls);
    }

    [Fact]
    public async Task A_change_needs_a_json_body_so_a_cross_site_form_cannot_make_one_and_a_bad_request_says_why()
    {
        await using var app = await StartAsync();
        var control = (FakeControl)app.Services.GetRequiredService<IReconciliationControl>();
        using var alice = app.Operator();

        using var form = await alice.PostAsync("silences", new FormUrlEncodedContent(new Dictionary<string, string> { ["rule"] = "x", ["reason"] = "y" }), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        using var tick = await alice.PostAsync("tick", new StringContent("", Encoding.UTF8, "text/plain"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, tick.StatusCode);
        using var broken = await KestrelApp.PostJsonAsync(alice, "silences", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        using var noReason = await KestrelApp.PostJsonAsync(alice, "silences", """{"rule":"x","duration":"00:10:00"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        Assert.Contains("reason", await noReason.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        Assert.Empty(control.Silences);
        Assert.Null(app.Services.GetRequiredService<IReconciler>().LatestReport);
    }

    [Fact]
    public async Task Reads_follow_the_read_policy_and_the_status_tells_each_caller_whether_it_may_change_the_controls()
    {
        await using var app = await StartAsync(o => o.ReadPolicy = KestrelApp.Viewers);
        using var anonymous = app.Client();
        using var viewer = app.Client("victor");
        using var alice = app.Operator();

        using (var refused = await anonymous.GetAsync("status.json", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.False((await KestrelApp.StatusAsync(viewer)).GetProperty("canMutate").GetBoolean());
        Assert.True((await KestrelApp.StatusAsync(alice)).GetProperty("canMutate").GetBoolean());
        using var page = await viewer.GetAsync("", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        using var silences = await viewer.GetAsync("silences", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, silences.StatusCode);

        await using var open = await StartAsync(o => o.AllowAnonymousReads = true);
        using var stranger = open.Client();
        Assert.False((await KestrelApp.StatusAsync(stranger)).GetProperty("canMutate").GetBoolean());
        using var strangerTick = await KestrelApp.PostJsonAsync(stranger, "tick", "{}");
        Assert.Equal(HttpStatusCode.Unauthorized, strangerTick.StatusCode);

        await using var closed = await StartAsync(); // no read policy: reads need the mutation policy
        using var closedViewer = closed.Client("victor");
        using var closedRead = await closedViewer.GetAsync("status.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, closedRead.StatusCode);
    }

    private static Task<KestrelApp> StartAsync(Action<ReconciliationEndpointOptions>? endpoints = null) =>
        KestrelApp.StartAsync(
            b => b.AddProbe(_ => new SettableProbe("db", "pool.usage") { Value = 0.5 }),
            endpoints,
            configure: builder => builder.Services.AddSingleton<IReconciliationControl>(sp => new FakeControl(sp.GetRequiredService<TimeProvider>())));

    private static HealProposal Proposal(string id, DateTimeOffset now) => new()
    {
        Id = id, Rule = "pool-saturation", Resource = "db", Healer = "postgres.clear-pool", Observed = 0.97,
        ProposedAt = now, ExpiresAt = now.AddMinutes(30), State = ProposalState.Pending,
    };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
