using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Reconciliation.Status;
using Reconciliation.Tool.Cli;
using Reconciliation.Tool.Configuration;

namespace Reconciliation.Tool.Watch;

/// <summary>
/// <c>reconcile watch</c>: the engine as a long-lived sidecar, from the configuration file alone, serving
/// <c>/healthz/live</c>, <c>/healthz/ready</c>, <c>/metrics</c> (Prometheus text) and the status page (<c>/status</c>,
/// <c>/status/status.json</c>). The <c>Reconciliation</c> section is reloaded when the file changes (rules, thresholds,
/// policies); resources are read once, at start.
/// </summary>
internal static class WatchCommand
{
    public const string DefaultUrls = "http://*:9464";

    public static async Task<int> RunAsync(ToolArguments arguments, TextWriter output, CancellationToken cancellationToken)
    {
        var configuration = ToolConfiguration.Load(arguments.ConfigPath, reloadOnChange: true);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "reconcile" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseUrls(arguments.Urls ?? configuration["Watch:Urls"] ?? DefaultUrls);
        builder.Services.AddRoutingCore();
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true);
        if (configuration["Logging:LogLevel:Default"] is null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        await using var resources = await ToolServices.AddAsync(builder.Services, configuration, cancellationToken);
        builder.Services.AddHealthChecks()
            .AddReconciliation("reconciliation-live", tags: ["live"], configure: o => { o.RuleTag = "live"; o.HealthyBeforeFirstTick = true; })
            .AddReconciliation("reconciliation-ready", tags: ["ready"], configure: o => o.RuleTag = "ready");
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["Watch:ServiceName"] ?? "reconcile"))
            .WithMetrics(metrics => metrics
            .AddMeter(ReconciliationTelemetry.MeterName)
            .AddPrometheusExporter());

        await using var app = builder.Build();
        ToolValidation.Validate(app.Services);
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live") });
        // Not ready while a readiness rule is open, Degraded ones included: the load balancer should route around the pod.
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/status", () => Results.Content(ReconciliationStatusPage.Html, ReconciliationStatusPage.ContentType));
        app.MapGet("/status/status.json", async (ReconciliationStatusProvider status, HttpContext http) =>
        {
            http.Response.ContentType = "application/json";
            http.Response.Headers.CacheControl = "no-store";
            await ReconciliationStatusJson.WriteAsync(http.Response.Body, await status.GetAsync(cancellationToken: http.RequestAborted), http.RequestAborted);
        });

        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        await output.WriteLineAsync($"reconcile watch: serving {string.Join(", ", addresses)} (/healthz/live, /healthz/ready, /metrics, /status)");
        await output.FlushAsync(cancellationToken);
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
