using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reconciliation.Postgres;
using Reconciliation.Tool.Cli;
using Reconciliation.Tool.Configuration;

namespace Reconciliation.Tool.Gate;

/// <summary>
/// <c>reconcile gate</c>: runs report-only ticks (nothing is healed: <c>DryRun</c>, no background loop) plus the PostgreSQL
/// migration gate and connection budget of every PostgreSQL resource, until everything is clear (exit 0) or the wait ends
/// (exit 1, what is not clear printed as a table and, with <c>--json</c>, written as JSON).
/// </summary>
internal static class GateCommand
{
    public static async Task<int> RunAsync(ToolArguments arguments, TextWriter output, TextWriter progress, TimeProvider time, CancellationToken cancellationToken)
    {
        var configuration = ToolConfiguration.Load(arguments.ConfigPath, reloadOnChange: false);
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddLogging(logging => logging
            .AddConfiguration(configuration.GetSection("Logging"))
            .AddSimpleConsole(c => c.SingleLine = true)
            .AddFilter(level => level >= LogLevel.Warning));
        services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        await using var resources = await ToolServices.AddAsync(services, configuration, cancellationToken);
        services.PostConfigure<ReconciliationOptions>(o =>
        {
            o.Enabled = false; // no background loop: the gate runs its own ticks
            o.DryRun = true;   // and never heals
        });

        await using var provider = services.BuildServiceProvider();
        ToolValidation.Validate(provider);
        var reconciler = provider.GetRequiredService<IReconciler>();
        var options = provider.GetRequiredService<IOptionsMonitor<ReconciliationOptions>>();
        var gates = resources.PostgresResources.Select(r => provider.GetRequiredKeyedService<PostgresMigrationGate>(r)).ToArray();

        var started = time.GetTimestamp();
        var ticks = 0;
        List<GateFinding> findings;
        while (true)
        {
            var report = await reconciler.ReconcileOnceAsync(cancellationToken);
            ticks++;
            findings = Findings(report, options.CurrentValue, arguments.AllowDegraded);
            foreach (var gate in gates)
            {
                findings.AddRange(await MigrationGateAsync(gate, cancellationToken));
            }

            var blocking = findings.Count(f => f.Blocking);
            var elapsed = time.GetElapsedTime(started);
            if (blocking == 0 || elapsed >= arguments.Wait)
            {
                break;
            }

            await progress.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"reconcile gate: tick {ticks}: {blocking} not clear ({string.Join("; ", findings.Where(f => f.Blocking).Select(f => f.Describe()).Take(3))}), next tick in {options.CurrentValue.Interval.TotalSeconds:0.###} s"));
            var pause = options.CurrentValue.Interval;
            var left = arguments.Wait - elapsed;
            await Task.Delay(pause < left ? pause : left, time, cancellationToken);
        }

        var passed = findings.All(f => !f.Blocking);
        var duration = time.GetElapsedTime(started);
        await GateOutput.WriteAsync(output, passed, ticks, duration, findings, arguments.GitHubFormat);
        if (arguments.JsonPath is { } json)
        {
            await GateOutput.WriteJsonAsync(json, passed, ticks, duration, arguments.Wait, findings, cancellationToken);
        }

        return passed ? 0 : 1;
    }

    /// <summary>What keeps this tick's report from being clear.</summary>
    internal static List<GateFinding> Findings(ReconciliationReport report, ReconciliationOptions options, bool allowDegraded)
    {
        var findings = new List<GateFinding>();
        foreach (var violation in report.Violations)
        {
            if (violation.State == ViolationState.Closed)
            {
                continue;
            }

            findings.Add(new GateFinding("violation", violation.Rule, violation.Resource, violation.Signal, violation.Observed, violation.Limit,
                violation.IsAbove ? "above" : "below", violation.Severity.ToString(), violation.State.ToString(), violation.OpenedAt, HeldBy(violation),
                Blocking: !(allowDegraded && violation.Severity == RuleSeverity.Degraded)));
        }

        // A reading past its limit whose violation has not opened yet (its For has not elapsed) is not clear either.
        foreach (var reading in report.Signals)
        {
            if (reading.Value is not double value)
            {
                continue;
            }

            foreach (var (name, rule) in options.Rules)
            {
                if (!rule.Enabled || !string.Equals(rule.Signal, reading.Signal, StringComparison.Ordinal)
                    || (rule.Resource is not null && !string.Equals(rule.Resource, reading.Resource, StringComparison.Ordinal))
                    || findings.Any(f => f.Rule == name && f.Resource == reading.Resource))
                {
                    continue;
                }

                var above = rule.Above is not null;
                var limit = rule.Above ?? rule.Below ?? double.NaN;
                if (above ? value > limit : value < limit)
                {
                    findings.Add(new GateFinding("breaching", name, reading.Resource, reading.Signal, value, limit, above ? "above" : "below",
                        rule.Severity.ToString(), "Pending", Since: null,
                        Detail: rule.For is TimeSpan sustained ? $"past its limit; opens once sustained for {sustained}" : "past its limit", Blocking: !(allowDegraded && rule.Severity == RuleSeverity.Degraded)));
                }
            }
        }

        foreach (var failure in report.ProbeFailures)
        {
            findings.Add(new GateFinding("probe-failed", Rule: null, failure.Resource, Signal: null, Value: null, Limit: null, Direction: null,
                nameof(RuleSeverity.Unhealthy), "-", Since: null, SecretScrubber.Scrub(failure.Reason), Blocking: true));
        }

        return findings;
    }

    /// <summary>Why the engine holds its heals, when an operator control does: the gate still counts the violation.</summary>
    private static string? HeldBy(Violation violation) =>
        violation.SilencedBy is { } silence ? $"silenced by {silence}"
        : violation.InhibitedBy is { } rule ? $"inhibited by {rule}"
        : violation.IsFlapping ? "flapping"
        : null;

    private static async Task<IEnumerable<GateFinding>> MigrationGateAsync(PostgresMigrationGate gate, CancellationToken cancellationToken)
    {
        try
        {
            var result = await gate.CheckAsync(cancellationToken);
            return result.Reasons.Select(reason => MigrationFinding(gate.Resource, reason));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A gate that cannot look fails closed.
            return [MigrationFinding(gate.Resource, "could not check: " + SecretScrubber.Describe(e))];
        }
    }

    private static GateFinding MigrationFinding(string resource, string reason) =>
        new("migration-gate", Rule: null, resource, Signal: null, Value: null, Limit: null, Direction: null, nameof(RuleSeverity.Unhealthy), "-",
            Since: null, reason, Blocking: true);
}
