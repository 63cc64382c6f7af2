using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reconciliation.Postgres;
using StackExchange.Redis;

namespace Reconciliation.Sample.DeployGate;

/// <summary>Runs a few reconciliation ticks (report only) plus the PostgreSQL migration gate and turns them into an exit code.</summary>
public static class DeployGate
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "gate.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args, new Dictionary<string, string>
            {
                ["--postgres"] = "POSTGRES", ["--redis"] = "REDIS", ["--ticks"] = "Ticks",
                ["--redis-policy"] = "RedisPolicy", ["--allow-degraded"] = "AllowDegraded",
            })
            .Build();
        var postgres = configuration["POSTGRES"];
        if (string.IsNullOrWhiteSpace(postgres))
        {
            await output.WriteLineAsync("deploy-gate: set POSTGRES (or --postgres) to the target database's connection string.");
            return 2;
        }

        var ticks = configuration.GetValue("Ticks", 3);
        var allowDegraded = configuration.GetValue("AllowDegraded", false);
        await using var dataSource = new NpgsqlDataSourceBuilder(postgres) { Name = "db" }.Build();
        ConnectionMultiplexer? redis = null;
        if (configuration["REDIS"] is { Length: > 0 } redisConfiguration)
        {
            var options = ConfigurationOptions.Parse(redisConfiguration);
            options.AbortOnConnectFail = false; // an unreachable cache is a gate failure to report, not a crash
            redis = await ConnectionMultiplexer.ConnectAsync(options);
        }

        var services = new ServiceCollection();
        services.AddLogging(l => l.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        var builder = services.AddStateReconciliation(configuration.GetSection("Reconciliation"))
            .AddPostgres("db", dataSource);
        services.Configure<ReconciliationOptions>(o =>
        {
            o.Enabled = false; // no loop: the gate runs its own ticks
            o.DryRun = true;   // and never heals
        });
        if (redis is not null)
        {
            builder.AddRedis("cache", redis, o => o.MaxMemoryPolicy = configuration["RedisPolicy"] ?? "allkeys-lru");
        }
        else
        {
            services.Configure<ReconciliationOptions>(o =>
            {
                foreach (var rule in o.Rules.Values.Where(r => r.Signal?.StartsWith("redis.", StringComparison.Ordinal) == true || r.Resource == "cache"))
                {
                    rule.Enabled = false;
                }
            });
        }

        await using var provider = services.BuildServiceProvider();
        var reconciler = provider.GetRequiredService<IReconciler>();
        var interval = configuration.GetValue("Reconciliation:Interval", TimeSpan.FromSeconds(2));
        ReconciliationReport? report = null;
        for (var i = 0; i < ticks; i++)
        {
            if (i > 0)
            {
                await Task.Delay(interval, cancellationToken); // windows (hit ratio, rates) need time between readings
            }

            report = await reconciler.ReconcileOnceAsync(cancellationToken);
        }

        await using var gate = new PostgresMigrationGate(dataSource);
        var migration = await gate.CheckAsync(cancellationToken);
        if (redis is not null)
        {
            await redis.DisposeAsync();
        }

        var reasons = new List<string>();
        foreach (var violation in report!.Violations.Where(v => v.State != ViolationState.Closed))
        {
            if (violation.Severity == RuleSeverity.Unhealthy || !allowDegraded)
            {
                reasons.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{violation.Severity}: rule {violation.Rule} on {violation.Resource}: {violation.Signal} = {violation.Observed:0.###} ({(violation.IsAbove ? "above" : "below")} {violation.Limit:0.###})"));
            }
        }

        foreach (var failure in report.ProbeFailures)
        {
            reasons.Add($"probe {failure.Probe} on {failure.Resource} failed: {failure.Reason}");
        }

        reasons.AddRange(migration.Reasons.Select(r => "migration gate: " + r));
        if (reasons.Count == 0)
        {
            await output.WriteLineAsync($"deploy-gate: PASS after {ticks} tick(s): no open violation, safe to migrate.");
            return 0;
        }

        await output.WriteLineAsync($"deploy-gate: FAIL after {ticks} tick(s):");
        foreach (var reason in reasons.Distinct())
        {
            await output.WriteLineAsync("  - " + reason);
        }

        return 1;
    }
}
