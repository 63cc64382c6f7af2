using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reconciliation.TestServers;
using Reconciliation.Tests;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Redis.Tests.Functional;

/// <summary>
/// The adapter builds its admin connection from the application's configuration string, which carries the password.
/// Through success, failure (server down, CONFIG refused), heals and health output, the password must never leave.
/// </summary>
public sealed class PasswordTests
{
    [Fact]
    public async Task The_password_appears_in_no_log_metric_exception_report_or_health_output()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = password, MaxMemoryBytes = 64L * 1024 * 1024 });
        await using var app = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.Contains(password, app.Configuration, StringComparison.Ordinal); // the risk is real: the string the adapter parses holds it

        var seen = new StringBuilder();
        using var listener = ListenToEveryInstrument(seen);
        await using var harness = ReconcilerHarness.Create(
            b => b.AddRedis(app, o => { o.MaxMemoryPolicy = "allkeys-lru"; o.OwnsMaxMemoryPolicy = true; o.EvictPrefix = "pw-test:"; })
                .AddRule("eviction-policy", r => { r.Signal = RedisSignalNames.PolicyDrift; r.Above = 0.5; r.Heal.Add(RedisHealerNames.SetPolicy); })
                .AddRule("redis-unreachable", r => { r.Signal = SignalNames.ProbeFailed; r.Above = 0.5; r.Severity = RuleSeverity.Unhealthy; r.Heal.Add(RedisHealerNames.Reconnect); }),
            services => services.AddHealthChecks().AddReconciliation());
        var reports = new List<ReconciliationReport>();

        // Working: the policy drifted (the server runs noeviction), is healed, and the probe reads.
        reports.Add(await harness.TickAsync());
        reports.Add(await harness.NextTickAsync());
        reports.Add(await harness.NextTickAsync());
        Assert.Contains(reports.SelectMany(r => r.Heals), h => h.Healer == RedisHealerNames.SetPolicy && h.Outcome.Kind == HealOutcomeKind.Healed);
        listener.RecordObservableInstruments();

        // Failing: the server is down; the probe throws, the reconnect healer rebuilds and fails, health turns Unhealthy.
        await redis.StopAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 3; i++)
        {
            reports.Add(await harness.NextTickAsync());
        }

        listener.RecordObservableInstruments();
        Assert.Contains(reports, r => r.ProbeFailures.Count > 0);
        Assert.Contains(reports.SelectMany(r => r.Heals), h => h.Healer == RedisHealerNames.Reconnect && h.Outcome.Kind == HealOutcomeKind.Failed);

        var caught = new List<Exception>();
        foreach (var healer in harness.Services.GetServices<IHealer>().Where(h => h.AppliesTo("redis")))
        {
            var context = new HealContext("direct", RedisSignalNames.PolicyDrift, "redis", 1, 0.5, RuleSeverity.Degraded, harness.Time.GetUtcNow(), 1, false);
            try
            {
                var outcome = await healer.HealAsync(context, TestContext.Current.CancellationToken);
                seen.AppendLine(outcome.ToString()).AppendLine(healer.DescribePlan(context));
            }
            catch (Exception e)
            {
                caught.Add(e);
            }
        }

        var health = await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HealthStatus.Unhealthy, health.Status);

        foreach (var report in reports)
        {
            foreach (var failure in report.ProbeFailures)
            {
                seen.AppendLine(failure.Reason);
            }

            foreach (var heal in report.Heals)
            {
                seen.AppendLine(heal.Outcome.ToString());
            }

            foreach (var violation in report.Violations)
            {
                seen.AppendLine(violation.ToString());
            }
        }

        foreach (var (name, entry) in health.Entries)
        {
            seen.AppendLine(name).AppendLine(entry.Description).AppendLine(entry.Exception?.ToString());
            foreach (var (key, value) in entry.Data)
            {
                seen.Append(key).Append('=').AppendLine(Convert.ToString(value, CultureInfo.InvariantCulture));
            }
        }

        foreach (var exception in caught)
        {
            seen.AppendLine(exception.ToString());
        }

        var logs = harness.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Id.Id is >= 200 and < 300); // the adapter did log
        foreach (var record in logs)
        {
            seen.AppendLine(record.Message).AppendLine(record.Exception?.ToString());
            foreach (var (key, value) in record.StructuredState ?? [])
            {
                seen.Append(key).Append('=').AppendLine(value);
            }
        }

        var text = seen.ToString();
        Assert.Contains("redis", text, StringComparison.Ordinal);
        Assert.Contains("signal=redis.latency", text, StringComparison.Ordinal); // metrics were collected
        Assert.DoesNotContain(password, text, StringComparison.Ordinal);
    }

    private static MeterListener ListenToEveryInstrument(StringBuilder seen)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Reconciliation")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            lock (seen)
            {
                seen.Append(instrument.Name).Append(' ').Append(value);
                foreach (var tag in tags)
                {
                    seen.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                }

                seen.AppendLine();
            }
        }

        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.SetMeasurementEventCallback<int>(Record);
        listener.Start();
        return listener;
    }
}
