using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// A wrong password and an unreachable host: the probe fails, and nothing that leaves the process (logs, metrics, the
/// report, health output, the exception a gate throws) contains the password or the connection string.
/// </summary>
public sealed class SecretsTests
{
    public static TheoryData<string> Faults => ["wrong-password", "unreachable-host"];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Probe_failure_leaks_neither_the_password_nor_the_connection_string(string fault)
    {
        var ct = TestContext.Current.CancellationToken;
        var pg = await RequireServer.PostgresAsync();
        var secret = "S3cret-" + Guid.NewGuid().ToString("N");
        var settings = new NpgsqlConnectionStringBuilder(pg.ConnectionStringFor("postgres"))
        {
            Password = secret,
            ApplicationName = "secret-app",
            Timeout = 3,
        };
        if (fault == "unreachable-host")
        {
            settings.Host = "reconciliation-test.invalid"; // RFC 6761: never resolves
        }

        var connectionString = settings.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var metrics = new StringBuilder();
        using var listener = new MeterListener
        {
            // This library's meters. (Npgsql's own meter tags pools with the data source's Name, which defaults to the
            // connection string without its password: name the data source to keep even that out.)
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name.StartsWith("Reconciliation", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Capture<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            lock (metrics)
            {
                metrics.Append(instrument.Meter.Name).Append(' ').Append(instrument.Name).Append(' ').Append(value);
                foreach (var tag in tags)
                {
                    metrics.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                }

                metrics.AppendLine();
            }
        }

        listener.SetMeasurementEventCallback<double>(Capture);
        listener.SetMeasurementEventCallback<long>(Capture);
        listener.SetMeasurementEventCallback<int>(Capture);
        listener.Start();

        await using var harness = EngineHarness.Create(
            b => b.AddPostgres("main-db", dataSource).AddRule("db-down", r =>
            {
                r.Signal = SignalNames.ProbeFailed;
                r.Above = 0.5;
                r.Severity = RuleSeverity.Unhealthy;
            }),
            services => services.AddHealthChecks().AddReconciliation());

        var report = await harness.TickAsync();
        listener.RecordObservableInstruments();

        Assert.Equal(1, report.ValueOf(SignalNames.ProbeFailed, "main-db"));
        var failure = Assert.Single(report.ProbeFailures, f => f.Resource == "main-db");

        var health = await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        var healthText = new StringBuilder();
        foreach (var (name, entry) in health.Entries)
        {
            healthText.Append(name).Append(' ').Append(entry.Status).Append(' ').Append(entry.Description).Append(' ').Append(entry.Exception);
            foreach (var (key, value) in entry.Data)
            {
                healthText.Append(' ').Append(key).Append('=').Append(System.Text.Json.JsonSerializer.Serialize(value));
            }
        }

        var logs = new StringBuilder();
        foreach (var record in harness.Logs.GetSnapshot())
        {
            logs.Append(record.Id.Name).Append(": ").Append(record.Message).Append(' ').Append(record.Exception);
            foreach (var (key, value) in record.StructuredState ?? [])
            {
                logs.Append(' ').Append(key).Append('=').Append(value);
            }

            logs.AppendLine();
        }

        // What a deploy step sees when it asks the gate directly: the exception itself.
        var gate = harness.Services.GetRequiredService<PostgresMigrationGate>();
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => gate.CheckAsync(ct));

        Assert.Contains("ProbeFailed", logs.ToString(), StringComparison.Ordinal);
        Assert.Contains("reconciliation.", metrics.ToString(), StringComparison.Ordinal);
        var outputs = new Dictionary<string, string>
        {
            ["probe failure reason"] = failure.Reason,
            ["logs"] = logs.ToString(),
            ["metrics"] = metrics.ToString(),
            ["health"] = healthText.ToString(),
            ["exception"] = thrown.ToString(),
        };
        foreach (var (what, text) in outputs)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{what} contains the password");
            Assert.False(text.Contains(connectionString, StringComparison.OrdinalIgnoreCase), $"{what} contains the connection string");
            Assert.False(text.Contains(dataSource.ConnectionString, StringComparison.OrdinalIgnoreCase), $"{what} contains the data source's connection string");
        }
    }
}
