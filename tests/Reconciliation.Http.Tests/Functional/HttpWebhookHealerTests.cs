using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Reconciliation.Http.Tests.Infrastructure;
using Xunit;

namespace Reconciliation.Http.Tests.Functional;

/// <summary>The <c>http.webhook</c> healer against a real receiver on loopback.</summary>
public sealed class HttpWebhookHealerTests
{
    private const string Secret = "hmac-secret-that-must-never-be-logged";
    private static readonly DateTimeOffset Opened = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_2xx_answer_is_healed_and_the_body_is_the_violation_signed_with_the_secret()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = StatusCodes.Status202Accepted;
        var fake = new FakeTimeProvider(Opened.AddMinutes(5));
        await using var provider = Services(fake, o =>
        {
            o.Url = receiver.Url;
            o.Secret = Secret;
        });

        var outcome = await Healer(provider).HealAsync(Context(attempt: 3), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Contains("202", outcome.Reason, StringComparison.Ordinal);
        var delivery = Assert.Single(receiver.Deliveries);

        // Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body)), timestamp in Unix seconds from the TimeProvider.
        Assert.Equal(Opened.AddMinutes(5).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), delivery.Timestamp);
        Assert.StartsWith("msg_", delivery.Id, StringComparison.Ordinal);
        var signed = Encoding.UTF8.GetBytes($"{delivery.Id}.{delivery.Timestamp}.").Concat(delivery.Body).ToArray();
        Assert.Equal("v1," + Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed)), delivery.Signature);
        Assert.Equal(HttpWebhookVerification.Valid, HttpWebhookSignature.Verify([Secret], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, fake));
        Assert.Equal(HttpWebhookVerification.NoMatchingSignature, HttpWebhookSignature.Verify(["another-secret"], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, fake));
        Assert.Equal(HttpWebhookVerification.NoMatchingSignature, HttpWebhookSignature.Verify([Secret], "msg_other", delivery.Timestamp, delivery.Signature, delivery.Body, fake));

        using var json = JsonDocument.Parse(delivery.Body);
        var root = json.RootElement;
        Assert.Equal("p99-too-high", root.GetProperty("rule").GetString());
        Assert.Equal("checkout", root.GetProperty("resource").GetString());
        Assert.Equal(HttpSignalNames.LatencyP99, root.GetProperty("signal").GetString());
        Assert.Equal(0.75, root.GetProperty("observed").GetDouble());
        Assert.Equal(0.5, root.GetProperty("limit").GetDouble());
        Assert.Equal("Unhealthy", root.GetProperty("severity").GetString());
        Assert.Equal(Opened, root.GetProperty("since").GetDateTimeOffset());
        Assert.Equal(3, root.GetProperty("attempt").GetInt32());
        Assert.Equal(HttpHealerNames.Webhook, root.GetProperty("healer").GetString());
        Assert.Equal(delivery.Id, root.GetProperty("id").GetString());
        Assert.Equal(Opened.AddMinutes(5), root.GetProperty("sentAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Without_a_secret_there_is_no_signature_header()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var provider = Services(new FakeTimeProvider(), o => o.Url = receiver.Url);

        var outcome = await Healer(provider).HealAsync(Context(), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Healed, outcome.Kind);
        Assert.Null(Assert.Single(receiver.Deliveries).Signature);
    }

    [Fact]
    public async Task A_non_2xx_answer_fails_with_the_status_code()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = StatusCodes.Status500InternalServerError;
        await using var provider = Services(new FakeTimeProvider(), o => o.Url = receiver.Url);

        var outcome = await Healer(provider).HealAsync(Context(), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("500", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_receiver_that_does_not_answer_in_time_fails_the_attempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeTimeProvider();
        await using var provider = Services(fake, o =>
        {
            o.Url = receiver.Url;
            o.Timeout = TimeSpan.FromSeconds(3);
        });

        var heal = Healer(provider).HealAsync(Context(), TestContext.Current.CancellationToken).AsTask();
        await receiver.FirstDelivery.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        Assert.False(heal.IsCompleted);
        fake.Advance(TimeSpan.FromSeconds(3));
        var outcome = await heal.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("did not answer within 00:00:03", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_fails_the_attempt()
    {
        await using var provider = Services(new FakeTimeProvider(), o => o.Url = new Uri($"http://127.0.0.1:{Ports.Free()}/hook"));

        var outcome = await Healer(provider).HealAsync(Context(), TestContext.Current.CancellationToken);

        Assert.Equal(HealOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("HttpRequestException", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_the_engine_the_secret_and_the_urls_query_never_reach_logs_or_reports()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = StatusCodes.Status503ServiceUnavailable;
        var fake = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = true);
        services.AddSingleton<TimeProvider>(fake);
        var signal = new ConstantProbe("checkout", 0.9);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddProbe(_ => signal)
            .AddHttpWebhook(o =>
            {
                o.Url = receiver.UrlWithQuery("token=query-token-xyz");
                o.Secret = Secret;
                o.Headers["Authorization"] = "Bearer header-token-abc";
            })
            .AllowDestructive(HttpHealerNames.Webhook)
            .AddRule("p99-too-high", r =>
            {
                r.Signal = HttpSignalNames.LatencyP99;
                r.Above = 0.5;
                r.Heal.Add(HttpHealerNames.Webhook);
            })
            .ConfigureHealer(HttpHealerNames.Webhook, p =>
            {
                p.MaxAttempts = 2;
                p.Cooldown = TimeSpan.FromSeconds(10);
            });
        await using var provider = services.BuildServiceProvider();
        var reconciler = provider.GetRequiredService<IReconciler>();

        var reports = new List<ReconciliationReport>();
        for (var tick = 0; tick < 5; tick++)
        {
            reports.Add(await reconciler.ReconcileOnceAsync(ct));
            fake.Advance(TimeSpan.FromSeconds(30));
        }

        // Two failed attempts, as the policy allows, then the violation is left open (exhausted).
        var heals = reports.SelectMany(r => r.Heals).ToList();
        Assert.Equal(2, heals.Count);
        Assert.All(heals, h => Assert.Equal(HealOutcomeKind.Failed, h.Outcome.Kind));
        Assert.All(heals, h => Assert.Contains("503", h.Outcome.Reason, StringComparison.Ordinal));
        Assert.Equal(2, receiver.Deliveries.Count);
        Assert.All(receiver.Deliveries, d => Assert.Equal("Bearer header-token-abc", d.Authorization));

        var logs = provider.GetFakeLogCollector().GetSnapshot();
        Assert.Contains(logs, l => l.Id.Id == 402);
        var everything = string.Join("\n", logs.Select(l => l.Message + " " + string.Join(",", l.StructuredState ?? [])))
            + string.Join("\n", heals.Select(h => h.Outcome.Reason));
        Assert.DoesNotContain(Secret, everything, StringComparison.Ordinal);
        Assert.NotEmpty(receiver.Deliveries);
        Assert.All(receiver.Deliveries, d => Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(d.Body), StringComparison.Ordinal)); // nor in webhook bodies
        Assert.DoesNotContain("query-token-xyz", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("header-token-abc", everything, StringComparison.Ordinal);
        Assert.Contains(receiver.Url.AbsolutePath, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_webhook_limited_to_resources_applies_only_to_them_and_a_destructive_one_waits_for_opt_in()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var provider = Services(new FakeTimeProvider(), o =>
        {
            o.Url = receiver.Url;
            o.Resources.Add("checkout");
            o.IsDestructive = true;
            o.Scope = HealScope.Process;
        });
        var healer = Healer(provider);

        Assert.True(healer.AppliesTo("checkout"));
        Assert.False(healer.AppliesTo("search"));
        Assert.True(healer.IsDestructive);
        Assert.Equal(HealScope.Process, healer.Scope);
        Assert.Equal($"POST the violation of rule p99-too-high on checkout (attempt 1) to {receiver.Url}", healer.DescribePlan(Context()));
    }

    [Fact]
    public async Task A_retry_of_the_same_attempt_carries_the_same_id_and_the_next_attempt_a_new_one()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var fake = new FakeTimeProvider(Opened.AddMinutes(1));
        await using var provider = Services(fake, o => o.Url = receiver.Url);
        var healer = Healer(provider);

        await healer.HealAsync(Context(attempt: 1), TestContext.Current.CancellationToken);
        fake.Advance(TimeSpan.FromSeconds(30));
        await healer.HealAsync(Context(attempt: 1), TestContext.Current.CancellationToken); // the same attempt, retried
        await healer.HealAsync(Context(attempt: 2), TestContext.Current.CancellationToken);

        var deliveries = receiver.Deliveries.ToArray();
        Assert.Equal(3, deliveries.Length);
        Assert.Equal(deliveries[0].Id, deliveries[1].Id);
        Assert.NotEqual(deliveries[0].Timestamp, deliveries[1].Timestamp);
        Assert.NotEqual(deliveries[0].Id, deliveries[2].Id);
        Assert.Null(deliveries[0].Signature); // no secret, no signature; id and timestamp are sent anyway
    }

    [Fact]
    public async Task Several_secrets_sign_for_rotation_and_the_receiver_helper_checks_the_tolerance_window()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var sent = new FakeTimeProvider(Opened);
        var oldKey = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("old-key-0123456789"));
        var newKey = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("new-key-9876543210"));
        await using var provider = Services(sent, o =>
        {
            o.Url = receiver.Url;
            o.Secret = oldKey;
            o.Secrets.Add(newKey);
        });

        await Healer(provider).HealAsync(Context(), TestContext.Current.CancellationToken);
        var delivery = Assert.Single(receiver.Deliveries);
        var signatures = delivery.Signature!.Split(' ');
        Assert.Equal(2, signatures.Length);
        Assert.All(signatures, s => Assert.StartsWith("v1,", s, StringComparison.Ordinal));

        // A whsec_ key is its base64-decoded bytes.
        var signed = Encoding.UTF8.GetBytes($"{delivery.Id}.{delivery.Timestamp}.").Concat(delivery.Body).ToArray();
        Assert.Equal("v1," + Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes("new-key-9876543210"), signed)), signatures[1]);

        // Receivers with either key verify; one with neither does not.
        var receiverClock = new FakeTimeProvider(Opened.AddMinutes(4));
        Assert.Equal(HttpWebhookVerification.Valid, HttpWebhookSignature.Verify([newKey], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock));
        Assert.Equal(HttpWebhookVerification.Valid, HttpWebhookSignature.Verify([oldKey], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock));
        Assert.Equal(HttpWebhookVerification.NoMatchingSignature, HttpWebhookSignature.Verify(["whsec_" + Convert.ToBase64String(new byte[16])], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock));

        // Outside the window (default 5 minutes, either way): a replay.
        receiverClock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpWebhookVerification.TimestampOutOfTolerance, HttpWebhookSignature.Verify([newKey], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock));
        Assert.Equal(HttpWebhookVerification.Valid, HttpWebhookSignature.Verify([newKey], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock, TimeSpan.FromMinutes(10)));
        Assert.Equal(HttpWebhookVerification.TimestampOutOfTolerance, HttpWebhookSignature.Verify([newKey], delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body, new FakeTimeProvider(Opened.AddMinutes(-6))));
        Assert.Equal(HttpWebhookVerification.MissingHeader, HttpWebhookSignature.Verify([newKey], null, delivery.Timestamp, delivery.Signature, delivery.Body, receiverClock));
        Assert.Equal(HttpWebhookVerification.InvalidTimestamp, HttpWebhookSignature.Verify([newKey], delivery.Id, "yesterday", delivery.Signature, delivery.Body, receiverClock));

        // The body tampered with: no match.
        var tampered = delivery.Body.ToArray();
        tampered[^2] ^= 1;
        Assert.Equal(HttpWebhookVerification.NoMatchingSignature, HttpWebhookSignature.Verify([newKey], delivery.Id, delivery.Timestamp, delivery.Signature, tampered, new FakeTimeProvider(Opened)));
    }

    [Fact]
    public async Task A_webhook_is_destructive_by_default_and_never_runs_without_opt_in()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Opened));
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero)
            .AddHttpWebhook(o => o.Url = receiver.Url)
            .AddProbe(_ => new ConstantProbe("checkout", 1))
            .AddRule("p99-too-high", r => { r.Signal = HttpSignalNames.LatencyP99; r.Above = 0.5; r.Heal.Add(HttpHealerNames.Webhook); });
        await using var provider = services.BuildServiceProvider();
        Assert.True(Healer(provider).IsDestructive);

        var reconciler = provider.GetRequiredService<IReconciler>();
        var heals = new List<HealResult>();
        for (var i = 0; i < 3; i++)
        {
            heals.AddRange((await reconciler.ReconcileOnceAsync(TestContext.Current.CancellationToken)).Heals);
        }

        Assert.DoesNotContain(heals, h => h.Outcome.Kind == HealOutcomeKind.Healed);
        Assert.Empty(receiver.Deliveries); // 0 destructive acts without opt-in
    }

    private static ServiceProvider Services(FakeTimeProvider fake, Action<HttpWebhookOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(fake);
        services.AddStateReconciliation(o => o.WarmUp = TimeSpan.Zero).AddHttpWebhook(configure);
        return services.BuildServiceProvider();
    }

    private static IHealer Healer(IServiceProvider provider) =>
        provider.GetServices<IHealer>().Single(h => h.Name == HttpHealerNames.Webhook);

    private static HealContext Context(int attempt = 1) =>
        new("p99-too-high", HttpSignalNames.LatencyP99, "checkout", 0.75, 0.5, RuleSeverity.Unhealthy, Opened, attempt, dryRun: false);

    private sealed class ConstantProbe(string resource, double value) : IProbe
    {
        public string Resource { get; } = resource;

        public IReadOnlyList<SignalDescriptor> Signals { get; } = [new(HttpSignalNames.LatencyP99, SignalUnits.Seconds, "test")];

        public ValueTask ProbeAsync(SignalWriter writer, CancellationToken cancellationToken)
        {
            writer.Write(0, value);
            return ValueTask.CompletedTask;
        }
    }
}
