using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Latency;
using Reconciliation.Http.Quantiles;
using Reconciliation.Http.Tests.Infrastructure;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>
/// The proof, end to end on real sockets: a Kestrel app whose latency the test controls, ASP.NET Core's own request
/// durations, the p99 rule, the heal policy, and a real webhook receiver checking signatures.
/// </summary>
public sealed class LatencyToWebhookTests
{
    private const string Secret = "s3cr3t-hmac-key-for-tests";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Slow_requests_raise_p99_the_webhook_gets_one_signed_call_per_allowed_attempt_and_fast_requests_close_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var fake = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        await using var receiver = await WebhookReceiver.StartAsync();
        long delayMs = 200;

        await using var app = await KestrelApp.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(fake);
                builder.Services.AddStateReconciliation(o =>
                    {
                        o.Enabled = false; // the test drives the ticks
                        o.WarmUp = TimeSpan.Zero;
                        o.Interval = Interval;
                    })
                    .AddHttpLatency(o =>
                    {
                        o.Window = TimeSpan.FromMinutes(2);
                        o.Slices = 4;
                        o.MinimumRequests = 20;
                    })
                    .AddHttpWebhook(o =>
                    {
                        o.Url = receiver.Url;
                        o.Secret = Secret;
                    })
                    .AddRule("slow-requests", r =>
                    {
                        r.Signal = HttpSignalNames.LatencyP99;
                        r.Resource = HttpLatencyOptions.DefaultResource;
                        r.Above = 0.150; // between the fast (~1 ms) and the slow (200 ms) endpoint, with room for a loaded machine
                        r.Heal.Add(HttpHealerNames.Webhook);
                    })
                    .AllowDestructive(HttpHealerNames.Webhook) // a webhook is destructive unless declared otherwise
                    .ConfigureHealer(HttpHealerNames.Webhook, p =>
                    {
                        p.MaxAttempts = 2;
                        p.Cooldown = Interval;
                        p.VerifyWithin = Interval;
                        p.Window = TimeSpan.FromMinutes(30);
                    });
            },
            app => app.MapGet("/work", async (CancellationToken cancel) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Volatile.Read(ref delayMs)), cancel);
                return "done";
            }));

        var reconciler = app.Services.GetRequiredService<IReconciler>();
        var window = app.Services.GetRequiredService<HttpLatencyListener>().WindowOf(HttpLatencyOptions.DefaultResource);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var served = MeasurementSignal.ServerRequestsOf(app.Services);

        // Slow: 30 requests of 200 ms, measured by ASP.NET Core itself.
        await SendAsync(client, 30, parallelism: 30, ct);
        await served.WaitForAsync(30, "30 request durations from ASP.NET Core");

        var first = await reconciler.ReconcileOnceAsync(ct);
        var p99 = first.ValueOf(HttpSignalNames.LatencyP99, HttpLatencyOptions.DefaultResource);
        Assert.NotNull(p99);
        Assert.InRange(p99.Value, 0.200 * (1 - LatencyHistogram.RelativeError), 5.0);
        Assert.Equal(0, first.ValueOf(HttpSignalNames.ErrorsRatio, HttpLatencyOptions.DefaultResource));
        var opened = Assert.Single(first.Violations, v => v.Rule == "slow-requests");
        Assert.Equal(ViolationState.Open, opened.State);
        Assert.Empty(first.Heals); // never on the first tick

        // Six more ticks while it stays slow: the policy allows exactly two attempts.
        var heals = new List<HealResult>();
        for (var tick = 0; tick < 6; tick++)
        {
            fake.Advance(Interval);
            var report = await reconciler.ReconcileOnceAsync(ct);
            heals.AddRange(report.Heals);
            Assert.NotNull(report.ValueOf(HttpSignalNames.LatencyP99, HttpLatencyOptions.DefaultResource));
        }

        Assert.Equal(2, heals.Count);
        Assert.All(heals, h => Assert.Equal(HealOutcomeKind.Healed, h.Outcome.Kind));
        var deliveries = receiver.Deliveries.ToArray();
        Assert.Equal(2, deliveries.Length);
        for (var i = 0; i < deliveries.Length; i++)
        {
            var delivery = deliveries[i];
            Assert.Equal(HttpWebhookVerification.Valid,
                HttpWebhookSignature.Verify([Secret], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, fake));
            Assert.StartsWith("application/json", delivery.ContentType, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(delivery.Body);
            var root = json.RootElement;
            Assert.Equal("slow-requests", root.GetProperty("rule").GetString());
            Assert.Equal("http", root.GetProperty("resource").GetString());
            Assert.Equal("http.latency.p99", root.GetProperty("signal").GetString());
            Assert.True(root.GetProperty("observed").GetDouble() > 0.15);
            Assert.Equal(0.15, root.GetProperty("limit").GetDouble());
            Assert.Equal(opened.OpenedAt, root.GetProperty("since").GetDateTimeOffset());
            Assert.Equal(i + 1, root.GetProperty("attempt").GetInt32());
        }

        // Fast: the slow samples leave the window, many fast requests fill it, and the violation closes.
        Volatile.Write(ref delayMs, 0);
        fake.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, window.Count);
        await SendAsync(client, 200, parallelism: 4, ct);
        await served.WaitForAsync(30 + 200, "200 fast request durations");
        fake.Advance(Interval);
        var last = await reconciler.ReconcileOnceAsync(ct);
        Assert.InRange(last.ValueOf(HttpSignalNames.LatencyP99, HttpLatencyOptions.DefaultResource)!.Value, 0, 0.150);
        var closed = Assert.Single(last.Violations, v => v.Rule == "slow-requests");
        Assert.Equal(ViolationState.Closed, closed.State);
        Assert.True(last.IsHealthy);
        Assert.Equal(2, receiver.Deliveries.Count);
    }

    private static async Task SendAsync(HttpClient client, int count, int parallelism, CancellationToken ct)
    {
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (_, cancel) =>
        {
            using var response = await client.GetAsync("work", cancel);
            Assert.Equal(StatusCodes.Status200OK, (int)response.StatusCode);
        });
    }
}
