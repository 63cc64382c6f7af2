using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reconciliation.AspNetCore.Tests.TestSupport;
using Reconciliation.Tests;

namespace Reconciliation.AspNetCore.Tests.Functional;

/// <summary>
/// The status page in a real headless Chromium, served by <c>MapReconciliation()</c> over the real engine: a silence
/// with its expiry and a pending proposal with its approve button. The screenshot is kept (artifacts/screenshots and
/// the test's attachments).
/// </summary>
public sealed class StatusPageBrowserTests
{
    [Fact]
    public async Task The_status_page_shows_a_silence_with_its_expiry_and_a_pending_proposal_with_approve_and_reject_buttons()
    {
        var ct = TestContext.Current.CancellationToken;
        var chromium = HeadlessChromium.Require();
        var pool = new SettableProbe("orders-db", "pool.usage") { Value = 0.95 };
        var queue = new SettableProbe("emails", "queue.stuck") { Value = 3 };
        var clear = new CountingHealer("test.clear-pool");
        var requeue = new CountingHealer("test.requeue");
        // Chromium sends no headers: the app signs every header-less request in as operator "olivia".
        await using var app = await KestrelApp.StartAsync(
            b => b.AddProbe(_ => pool).AddProbe(_ => queue).AddHealer(_ => clear).AddHealer(_ => requeue)
                .AddRule("pool-saturation", r => { r.Signal = "pool.usage"; r.Above = 0.9; r.Clear = 0.7; r.Heal.Add(clear.Name); r.Approval = ApprovalMode.Propose; })
                .AddRule("emails-stuck", r => { r.Signal = "queue.stuck"; r.Above = 0; r.Heal.Add(requeue.Name); }),
            browserUser: "olivia");
        using var alice = app.Operator("alice");

        using var added = await KestrelApp.PostJsonAsync(alice, "silences", """{"rule":"emails-*","duration":"00:45:00","reason":"worker deploy in progress"}""");
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var silence = await added.Content.ReadFromJsonAsync<JsonElement>(ct);
        for (var tick = 0; tick < 6; tick++)
        {
            pool.Value = 0.9 + (tick * 0.01); // a little movement for the sparkline
            await KestrelApp.TickAsync(alice);
            app.Time.Advance(TimeSpan.FromSeconds(30));
        }

        var proposal = Assert.Single((await alice.GetFromJsonAsync<JsonElement>("proposals", ct)).EnumerateArray());
        var proposalId = proposal.GetProperty("id").GetString()!;
        var silenceId = silence.GetProperty("id").GetString()!;
        var expiry = silence.GetProperty("endsAt").GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        var dom = await HeadlessChromium.DumpDomAsync(chromium, app.BaseAddress, ct);

        var silenceRow = Row(dom, $"data-silence=\"{silenceId}\"");
        Assert.Contains("worker deploy in progress", silenceRow, StringComparison.Ordinal);
        Assert.Contains(expiry, silenceRow, StringComparison.Ordinal);
        Assert.Contains(">alice<", silenceRow, StringComparison.Ordinal);
        var proposalRow = Row(dom, $"data-proposal=\"{proposalId}\"");
        Assert.Contains(">Approve</button>", proposalRow, StringComparison.Ordinal);
        Assert.Contains(">Reject</button>", proposalRow, StringComparison.Ordinal);
        Assert.Contains(clear.Name, proposalRow, StringComparison.Ordinal);
        Assert.Contains("data-silenced-by=\"" + silenceId + "\"", dom, StringComparison.Ordinal); // the held violation says by what
        Assert.Contains("<polyline class=\"line\"", dom, StringComparison.Ordinal); // the sparklines are drawn
        Assert.Contains("<line class=\"limit\"", dom, StringComparison.Ordinal);

        var path = Path.Combine(RepositoryRoot(), "artifacts", "screenshots", "status-page-silence-and-proposal.png");
        var png = await HeadlessChromium.ScreenshotAsync(chromium, app.BaseAddress, path, ct);
        TestContext.Current.AddAttachment("status-page-silence-and-proposal.png", png, "image/png");
        TestContext.Current.SendDiagnosticMessage("status page screenshot: " + path);
    }

    /// <summary>The <c>&lt;tr&gt;</c> element carrying <paramref name="marker"/>.</summary>
    private static string Row(string dom, string marker)
    {
        var at = dom.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"the page has no row with {marker}");
        var start = dom.LastIndexOf("<tr", at, StringComparison.Ordinal);
        var end = dom.IndexOf("</tr>", at, StringComparison.Ordinal);
        return dom[start..end];
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Reconciliation.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Reconciliation.sln not found above " + AppContext.BaseDirectory);
    }
}
