using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Reconciliation.TestServers;
using StackExchange.Redis;

namespace Reconciliation.Observability.Tests.Prometheus;

/// <summary>
/// The shipped alert rules and Grafana dashboard against Debian's real Prometheus: promtool checks and unit-tests the
/// rules; a Prometheus server scrapes the orders sample (its own OS process, on real PostgreSQL and Redis) and its HTTP
/// API returns every series the dashboard and the rules query, and evaluates the rules without an error.
/// </summary>
public sealed partial class PrometheusTests
{
    private static readonly string Samples = Path.Combine(PrometheusTool.RepositoryRoot(), "samples");
    private static readonly string Rules = Path.Combine(Samples, "prometheus", "alerts.yml");

    [Fact]
    public async Task The_alert_rules_pass_promtool_check_rules_and_their_unit_tests()
    {
        var check = await PrometheusTool.RunAsync("promtool", Path.GetDirectoryName(Rules)!, "check", "rules", Rules);
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains("SUCCESS: 9 rules found", check.Output, StringComparison.Ordinal);

        var test = await PrometheusTool.RunAsync("promtool", Path.GetDirectoryName(Rules)!, "test", "rules", "alerts.test.yml");
        Assert.True(test.ExitCode == 0, test.Output);
        Assert.Contains("SUCCESS", test.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_real_Prometheus_scrapes_the_orders_sample_and_finds_every_series_the_dashboard_and_the_rules_query()
    {
        var ct = TestContext.Current.CancellationToken;
        var postgres = await RequireServer.PostgresAsync();
        await using var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { MaxMemoryBytes = 32 * 1024 * 1024, MaxMemoryPolicy = "allkeys-lru" });
        var database = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync(nameof(PrometheusTests), ct)) { MaxPoolSize = 4 }.ConnectionString;
        await using var orders = OrdersProcess.Start(database, redis.ConnectionString);
        await orders.WaitUntilServingAsync();

        await using var prometheus = await PrometheusTool.StartAsync($$"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [ alerts.yml ]
            scrape_configs:
              - job_name: orders
                metrics_path: /metrics
                static_configs: [ { targets: [ "127.0.0.1:{{orders.Port}}" ] } ]
            """, Rules);

        // Running: signals, ticks and probe durations are scraped.
        await Eventually.UntilAsync(async () => (await SeriesAsync(prometheus, "reconciliation_signal_value")).Count > 0,
            "Prometheus has reconciliation_signal_value", TimeSpan.FromSeconds(60));

        // Faults, so the series that exist only after something happened exist too: Redis's policy drifts (a heal),
        // the pool is held (an open violation), then Redis goes away (probe failures).
        using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration(allowAdmin: true)))
        {
            await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("maxmemory-policy", "noeviction");
        }

        using (var hold = await orders.Http.PostAsync("demo/faults/hold-connections/4", null, ct))
        {
            hold.EnsureSuccessStatusCode();
        }

        await Eventually.UntilAsync(async () => (await SeriesAsync(prometheus, "reconciliation_heals_total")).Count > 0
                && (await SeriesAsync(prometheus, "reconciliation_violations_open")).Count > 0,
            "Prometheus has heals and an open violation", TimeSpan.FromSeconds(60));
        await redis.StopAsync(ct);

        var wanted = DashboardMetrics().Concat(RuleMetrics()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("reconciliation_heals_total", wanted);
        Assert.Contains("reconciliation_tick_duration_seconds_bucket", wanted);
        Assert.Contains("reconciliation_healing_paused", wanted);
        var missing = wanted;
        await Eventually.HoldsAsync(async () =>
        {
            var still = new List<string>();
            foreach (var metric in wanted)
            {
                if ((await SeriesAsync(prometheus, metric)).Count == 0)
                {
                    still.Add(metric);
                }
            }

            missing = still;
            return still.Count == 0;
        }, TimeSpan.FromSeconds(60));
        Assert.True(missing.Count == 0, "not in the scrape: " + string.Join(", ", missing) + Environment.NewLine + await orders.MetricsAsync());

        // The reconciliation series carry the labels the dashboard and the rules group by.
        var heal = (await SeriesAsync(prometheus, "reconciliation_heals_total"))[0];
        Assert.True(heal.ContainsKey("healer") && heal.ContainsKey("outcome"), string.Join(",", heal.Keys));
        var signal = (await SeriesAsync(prometheus, "reconciliation_signal_value")).First(s => s["signal"] == "redis.policy.drift");
        Assert.Equal("cache", signal["resource"]);

        // Every rule of alerts.yml evaluates against the real series without an error.
        await Eventually.UntilAsync(async () => RuleHealth(await prometheus.Api.GetFromJsonAsync<JsonElement>("rules", ct)).All(h => h.Health == "ok") , "every rule evaluated", TimeSpan.FromSeconds(30));
        var rules = RuleHealth(await prometheus.Api.GetFromJsonAsync<JsonElement>("rules", ct));
        Assert.Equal(9, rules.Count);
        Assert.All(rules, r => Assert.True(r.Health == "ok", $"{r.Name}: {r.Health} {r.Error}"));
        // A recording rule's first result needs two scrapes that carry the heal and then one evaluation.
        await Eventually.UntilAsync(async () => (await QueryAsync(prometheus, "reconciliation:heals:rate5m")).Count > 0,
            "the recording rule reconciliation:heals:rate5m has a result", TimeSpan.FromSeconds(60));
    }

    /// <summary>Metric names the Grafana dashboard's queries use.</summary>
    internal static IReadOnlyList<string> DashboardMetrics()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Samples, "grafana-dashboard.json")));
        var names = new List<string>();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    names.AddRange(MetricName().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Value));
                }
            }
        }

        return names;
    }

    /// <summary>Metric names (not recorded series) the rules of alerts.yml query.</summary>
    internal static IReadOnlyList<string> RuleMetrics() =>
        [.. File.ReadAllLines(Rules).Where(l => l.TrimStart().StartsWith("expr:", StringComparison.Ordinal) || l.StartsWith("          ", StringComparison.Ordinal))
            .SelectMany(l => MetricName().Matches(l).Select(m => m.Value))];

    private static async Task<List<Dictionary<string, string>>> SeriesAsync(PrometheusTool prometheus, string metric)
    {
        JsonElement json;
        try
        {
            json = await prometheus.Api.GetFromJsonAsync<JsonElement>($"series?match[]={Uri.EscapeDataString(metric)}", TestContext.Current.CancellationToken);
        }
        catch (HttpRequestException)
        {
            return []; // not listening yet
        }

        return [.. json.GetProperty("data").EnumerateArray().Select(s => s.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!))];
    }

    private static async Task<List<JsonElement>> QueryAsync(PrometheusTool prometheus, string query)
    {
        var json = await prometheus.Api.GetFromJsonAsync<JsonElement>($"query?query={Uri.EscapeDataString(query)}", TestContext.Current.CancellationToken);
        return [.. json.GetProperty("data").GetProperty("result").EnumerateArray()];
    }

    private static List<(string Name, string Health, string? Error)> RuleHealth(JsonElement rules) =>
        [.. rules.GetProperty("data").GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Select(r => (r.GetProperty("name").GetString()!, r.GetProperty("health").GetString()!, r.TryGetProperty("lastError", out var e) ? e.GetString() : null))];

    [GeneratedRegex(@"\breconciliation_[a-z_]+\b")]
    private static partial Regex MetricName();

    /// <summary>The orders sample as its own OS process (<c>dotnet Reconciliation.Sample.Orders.dll</c>) on a free port.</summary>
    private sealed class OrdersProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private OrdersProcess(Process process, int port)
        {
            _process = process;
            Port = port;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public int Port { get; }

        public HttpClient Http { get; }

        public static OrdersProcess Start(string database, string redis)
        {
            var dll = Path.Combine(Samples, "Reconciliation.Sample.Orders", "bin", BuildConfiguration(), "net10.0", "Reconciliation.Sample.Orders.dll");
            Assert.True(File.Exists(dll), "the orders sample is not built: " + dll);
            var port = FreePort.Next();
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            // Secrets in the environment only, never on the command line.
            start.Environment["ConnectionStrings__Orders"] = database;
            start.Environment["ConnectionStrings__Redis"] = redis;
            start.Environment["Reconciliation__WarmUp"] = "00:00:01";
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            var process = Process.Start(start)!;
            var orders = new OrdersProcess(process, port);
            process.OutputDataReceived += (_, e) => orders.Append(e.Data);
            process.ErrorDataReceived += (_, e) => orders.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return orders;
        }

        public async Task WaitUntilServingAsync()
        {
            var serving = await Eventually.HoldsAsync(async () =>
            {
                Assert.False(_process.HasExited, "the orders sample exited: " + Output());
                try
                {
                    using var response = await Http.GetAsync("metrics", TestContext.Current.CancellationToken);
                    return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Contains("reconciliation_", StringComparison.Ordinal);
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60));
            Assert.True(serving, "the orders sample did not serve /metrics with reconciliation series within 60 s: " + Output());
        }

        public async Task<string> MetricsAsync() => await Http.GetStringAsync("metrics", TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            }

            _process.Dispose();
        }

        private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

        private string Output()
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
