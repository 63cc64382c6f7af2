using System.Text.Json;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using StackExchange.Redis;
using Xunit;

namespace Reconciliation.Tool.Tests;

/// <summary><c>reconcile gate</c>, installed from the packed feed, against a real PostgreSQL and Redis.</summary>
public sealed class GateTests(InstalledTool tool)
{
    private const string RedisPassword = "gate-redis-secret-pw";

    [Fact]
    public async Task Exits_0_when_every_rule_is_clear_and_the_migration_gate_agrees()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(Exits_0_when_every_rule_is_clear_and_the_migration_gate_agrees), ct);
        var report = Path.Combine(tool.Work, "healthy.json");

        var gate = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct,
            "gate", "--config", await GateEnvironment.WriteConfigAsync(tool.Work, ct), "--wait", "10s", "--json", report);

        Assert.True(gate.ExitCode == 0, gate.Output);
        Assert.Contains("reconcile gate: PASS", gate.Stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report, ct));
        Assert.Equal("pass", json.RootElement.GetProperty("result").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("findings").GetArrayLength());
        environment.AssertNoSecretIn(gate.Output);
    }

    [Fact]
    public async Task Exits_1_naming_the_violation_when_the_redis_eviction_policy_drifted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(Exits_1_naming_the_violation_when_the_redis_eviction_policy_drifted), ct);
        await environment.SetRedisPolicyAsync("noeviction");
        var report = Path.Combine(tool.Work, "drifted.json");

        var gate = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct,
            "gate", "--config", await GateEnvironment.WriteConfigAsync(tool.Work, ct), "--wait", "2s", "--json", report, "--format", "github");

        Assert.True(gate.ExitCode == 1, gate.Output);
        Assert.Contains("reconcile gate: FAIL", gate.Stdout, StringComparison.Ordinal);
        Assert.Contains("::error title=reconcile gate%3A cache-policy::rule cache-policy on cache: redis.policy.drift = 1 (above 0)", gate.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^violation\s+cache-policy\s+cache\s+redis\.policy\.drift\s+1\s+above 0\s+Open\s+Degraded", gate.Stdout);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report, ct));
        Assert.Equal("fail", json.RootElement.GetProperty("result").GetString());
        var finding = Assert.Single(json.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("cache-policy", finding.GetProperty("rule").GetString());
        Assert.Equal("redis.policy.drift", finding.GetProperty("signal").GetString());
        Assert.Equal(1, finding.GetProperty("value").GetDouble());
        Assert.True(finding.GetProperty("blocking").GetBoolean());
        // The gate only looks: the policy is still drifted.
        Assert.Equal("noeviction", await environment.RedisPolicyAsync());
        environment.AssertNoSecretIn(gate.Output);
    }

    [Fact]
    public async Task Allow_degraded_passes_with_the_degraded_violation_as_a_warning()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(Allow_degraded_passes_with_the_degraded_violation_as_a_warning), ct);
        await environment.SetRedisPolicyAsync("noeviction");

        var gate = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct,
            "gate", "--config", await GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "degraded.json"), "--wait", "0s", "--allow-degraded", "--format", "github");

        Assert.True(gate.ExitCode == 0, gate.Output);
        Assert.Contains("reconcile gate: PASS", gate.Stdout, StringComparison.Ordinal);
        Assert.Contains("(1 Degraded allowed)", gate.Stdout, StringComparison.Ordinal);
        Assert.Contains("::warning title=reconcile gate%3A cache-policy::rule cache-policy on cache: redis.policy.drift = 1", gate.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("::error", gate.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_breach_whose_For_has_not_elapsed_and_a_connection_budget_over_the_server_are_not_clear()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(A_breach_whose_For_has_not_elapsed_and_a_connection_budget_over_the_server_are_not_clear), ct);
        // 100 replicas of a pool of 10 (plus a probe connection each) cannot fit the server's connections.
        var config = await GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "pending.json", postgres: ", \"Replicas\": 100", rule: """
            "cache-latency": { "Signal": "redis.latency", "Above": 0, "For": "01:00:00" }
            """);
        var report = Path.Combine(tool.Work, "pending-report.json");

        var gate = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct, "gate", "--config", config, "--wait", "0s", "--json", report);

        Assert.True(gate.ExitCode == 1, gate.Output);
        Assert.Matches(@"(?m)^breaching\s+cache-latency\s+cache\s+redis\.latency\s+\S+\s+above 0\s+Pending\s+Degraded\s+past its limit; opens once sustained for 01:00:00", gate.Stdout);
        Assert.Matches(@"(?m)^migration-gate\s+-\s+orders-db\s.*the connection budget 1100 \(\(max pool size 10 \+ 1 probe\) x 100 replicas", gate.Stdout);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report, ct));
        Assert.Equal(["breaching", "migration-gate"], json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("kind").GetString()!).Order().ToArray());
        environment.AssertNoSecretIn(gate.Output);
    }

    [Fact]
    public async Task Exits_2_naming_the_full_key_when_the_configuration_is_wrong()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(Exits_2_naming_the_full_key_when_the_configuration_is_wrong), ct);
        var config = await GateEnvironment.WriteConfigAsync(tool.Work, ct, rule: """
            "cache-policy": { "Signal": "redis.policy.drift", "Above": 0, "Clear": 0.5, "Heal": [ "redis.set-policy" ] }
            """, name: "bad-clear.json");

        var badClear = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct, "gate", "--config", config, "--wait", "0s");

        Assert.True(badClear.ExitCode == 2, badClear.Output);
        Assert.Contains("Reconciliation:Rules:cache-policy:Clear", badClear.Stderr, StringComparison.Ordinal);
        environment.AssertNoSecretIn(badClear.Output);

        // A reference to an environment variable that is not set names the key that refers to it.
        var unset = await ToolProcess.RunAsync(tool.Command, new Dictionary<string, string>(), ct,
            "gate", "--config", await GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "unset.json"), "--wait", "0s");
        Assert.True(unset.ExitCode == 2, unset.Output);
        Assert.Contains("Reconciliation:Postgres:orders-db:ConnectionString refers to the environment variable 'GATE_ORDERS_DB', which is not set", unset.Stderr, StringComparison.Ordinal);

        // A process-local healer is left out of the tool, and a rule that names it says why.
        var restart = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct, "gate", "--config",
            await GateEnvironment.WriteConfigAsync(tool.Work, ct, rule: """
                "cache-policy": { "Signal": "redis.policy.drift", "Above": 0, "Heal": [ "redis.set-policy", "app.restart" ] }
                """, name: "restart.json"), "--wait", "0s");
        Assert.True(restart.ExitCode == 2, restart.Output);
        Assert.Contains("Reconciliation:Rules:cache-policy:Heal:1 names 'app.restart', which acts on the process it runs in", restart.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_a_password_on_the_command_line_or_written_into_the_configuration_file()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = await GateEnvironment.StartAsync(nameof(Refuses_a_password_on_the_command_line_or_written_into_the_configuration_file), ct);
        var config = await GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "cli.json");

        var onCommandLine = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct,
            "gate", "--config", config, "--postgres", "Host=127.0.0.1;Username=app;Password=" + RedisPassword);
        Assert.True(onCommandLine.ExitCode == 2, onCommandLine.Output);
        Assert.Contains("refuses secrets on the command line", onCommandLine.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(RedisPassword, onCommandLine.Output, StringComparison.Ordinal);

        var literal = await GateEnvironment.WriteConfigAsync(tool.Work, ct, name: "literal.json", redisConfiguration: $"127.0.0.1:{environment.RedisPort},password={RedisPassword}");
        var inFile = await ToolProcess.RunAsync(tool.Command, environment.Variables, ct, "gate", "--config", literal, "--wait", "0s");
        Assert.True(inFile.ExitCode == 2, inFile.Output);
        Assert.Contains("Reconciliation:Redis:cache:Configuration holds a secret in the configuration file itself", inFile.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(RedisPassword, inFile.Output, StringComparison.Ordinal);
    }

    /// <summary>A database on the shared PostgreSQL, a Redis of its own (with a password), and the configuration that watches both.</summary>
    internal sealed class GateEnvironment : IAsyncDisposable
    {
        private readonly PostgresServer _postgres;
        private readonly RedisServer _redis;

        private GateEnvironment(PostgresServer postgres, RedisServer redis, string database)
        {
            _postgres = postgres;
            _redis = redis;
            Variables = new Dictionary<string, string>
            {
                // The app's pool size is what the connection budget counts: well inside the test server's connections.
                ["GATE_ORDERS_DB"] = database + ";Maximum Pool Size=10",
                ["GATE_REDIS"] = redis.ConnectionString,
            };
        }

        public IReadOnlyDictionary<string, string> Variables { get; }

        public int RedisPort => _redis.Port;

        public static async Task<GateEnvironment> StartAsync(string scope, CancellationToken ct)
        {
            var postgres = await RequireServer.PostgresAsync();
            var redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions { Password = RedisPassword, MaxMemoryPolicy = "allkeys-lru", MaxMemoryBytes = 16 * 1024 * 1024 });
            return new GateEnvironment(postgres, redis, await postgres.CreateDatabaseAsync(scope, ct));
        }

        public static async Task<string> WriteConfigAsync(string folder, CancellationToken ct, string? rule = null, string name = "reconcile.json",
            string redisConfiguration = "env:GATE_REDIS", string interval = "00:00:00.500", string postgres = "")
        {
            var path = Path.Combine(folder, $"{Guid.NewGuid():N}-{name}");
            await File.WriteAllTextAsync(path, $$"""
                {
                  "Reconciliation": {
                    "Interval": "{{interval}}",
                    "WarmUp": "00:00:00",
                    "Postgres": { "orders-db": { "ConnectionString": "env:GATE_ORDERS_DB"{{postgres}} } },
                    "Redis": { "cache": { "Configuration": "{{redisConfiguration}}", "MaxMemoryPolicy": "allkeys-lru", "OwnsMaxMemoryPolicy": true } },
                    "Rules": {
                      "db-not-in-recovery": { "Signal": "postgres.recovery", "Above": 0, "Severity": "Unhealthy" },
                      "db-connections": { "Signal": "postgres.connections.usage", "Above": 0.9, "Severity": "Unhealthy" },
                      {{rule ?? """
                        "cache-policy": { "Signal": "redis.policy.drift", "Above": 0, "Heal": [ "redis.set-policy" ], "Tags": [ "ready" ] }
                        """}}
                    }
                  }
                }
                """, ct);
            return path;
        }

        public async Task SetRedisPolicyAsync(string policy)
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration(allowAdmin: true));
            await admin.GetServer("127.0.0.1", _redis.Port).ConfigSetAsync("maxmemory-policy", policy);
        }

        public async Task<string?> RedisPolicyAsync()
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration(allowAdmin: true));
            var values = await admin.GetServer("127.0.0.1", _redis.Port).ConfigGetAsync("maxmemory-policy");
            return values.Single().Value;
        }

        public void AssertNoSecretIn(string output)
        {
            Assert.DoesNotContain(RedisPassword, output, StringComparison.Ordinal);
            Assert.DoesNotContain(_postgres.Password, output, StringComparison.Ordinal);
        }

        public ValueTask DisposeAsync() => _redis.DisposeAsync();
    }
}
