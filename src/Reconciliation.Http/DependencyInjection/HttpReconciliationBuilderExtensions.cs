using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reconciliation.Http;
using Reconciliation.Http.Endpoints;
using Reconciliation.Http.Latency;
using Reconciliation.Http.Webhooks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers the HTTP adapter: <c>AddHttpLatency()</c> (the app's own request latency and error ratio),
/// <c>AddHttpEndpoint(name, uri)</c> (a synthetic probe) and <c>AddHttpWebhook(...)</c> (the <c>http.webhook</c> healer).
/// </summary>
public static class HttpReconciliationBuilderExtensions
{
    /// <summary>
    /// Watches this app's own requests through ASP.NET Core's <c>http.server.request.duration</c> histogram and emits, per route
    /// group (resource <c>http</c> by default), <c>http.latency.p99</c> and <c>http.errors.ratio</c> over a sliding window.
    /// Calling it again amends the same options (route groups added later get their own probes).
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="configure">Window, minimum requests, route groups, extra percentiles, outgoing calls.</param>
    public static IReconciliationBuilder AddHttpLatency(this IReconciliationBuilder builder, Action<HttpLatencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<HttpLatencyOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddHttpLatencyCore(builder, scratch => configure?.Invoke(scratch));
    }

    /// <summary>Watches this app's own requests, with options bound from <paramref name="section"/> (e.g. <c>Reconciliation:Http:Latency</c>).</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="section">The configuration section of <see cref="HttpLatencyOptions"/>.</param>
    public static IReconciliationBuilder AddHttpLatency(this IReconciliationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<HttpLatencyOptions>().Bind(section).Configure(o => o.ConfigurationPath = section.Path);
        return AddHttpLatencyCore(builder, scratch => section.Bind(scratch));
    }

    /// <summary>
    /// Calls <paramref name="uri"/> every tick and emits, for the resource <paramref name="name"/>, <c>http.latency.p99</c> and
    /// <c>http.errors.ratio</c> over a window of those calls; a refused connection or a timeout reports <c>probe.failed</c>.
    /// Sends with the host's <see cref="IHttpClientFactory"/> (named client <see cref="HttpEndpointOptions.HttpClientName"/>) when registered.
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The resource name (<c>checkout-api</c>); one registration per name.</param>
    /// <param name="uri">The absolute http or https URL to call.</param>
    /// <param name="configure">Timeout, expected status codes, window.</param>
    public static IReconciliationBuilder AddHttpEndpoint(this IReconciliationBuilder builder, string name, Uri uri, Action<HttpEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(uri);
        return AddHttpEndpointCore(builder, name, options =>
        {
            options.Configure(o =>
            {
                o.Uri = uri;
                o.ConfigurationPath = $"HttpEndpoints:{name}";
            });
            if (configure is not null)
            {
                options.Configure(configure);
            }
        });
    }

    /// <summary>Adds a synthetic endpoint probe for the resource <paramref name="name"/>, with options (including <c>Uri</c>) bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The resource name; one registration per name.</param>
    /// <param name="section">The configuration section of <see cref="HttpEndpointOptions"/>.</param>
    public static IReconciliationBuilder AddHttpEndpoint(this IReconciliationBuilder builder, string name, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        return AddHttpEndpointCore(builder, name, options => options.Bind(section).Configure(o => o.ConfigurationPath = section.Path));
    }

    /// <summary>Adds the <c>http.webhook</c> healer, configured in code.</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="configure">URL, secret, timeout, resources.</param>
    public static IReconciliationBuilder AddHttpWebhook(this IReconciliationBuilder builder, Action<HttpWebhookOptions> configure) =>
        AddHttpWebhook(builder, Options.Options.DefaultName, configure);

    /// <summary>Adds the <c>http.webhook</c> healer with options bound from <paramref name="section"/> (e.g. <c>Reconciliation:Http:Webhook</c>).</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="section">The configuration section of <see cref="HttpWebhookOptions"/>.</param>
    public static IReconciliationBuilder AddHttpWebhook(this IReconciliationBuilder builder, IConfigurationSection section) =>
        AddHttpWebhook(builder, Options.Options.DefaultName, section);

    /// <summary>
    /// Adds one more <c>http.webhook</c> healer instance under the registration name <paramref name="name"/>, configured in code.
    /// Give each instance its own <see cref="HttpWebhookOptions.Resources"/>: the engine uses the first one that applies to a resource.
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The registration (options) name.</param>
    /// <param name="configure">URL, secret, timeout, resources.</param>
    public static IReconciliationBuilder AddHttpWebhook(this IReconciliationBuilder builder, string name, Action<HttpWebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configure);
        var path = name.Length == 0 ? "HttpWebhook" : $"HttpWebhook:{name}";
        return AddHttpWebhookCore(builder, name, options => options.Configure(o => o.ConfigurationPath = path).Configure(configure));
    }

    /// <summary>Adds one more <c>http.webhook</c> healer instance under the registration name <paramref name="name"/>, bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The registration (options) name.</param>
    /// <param name="section">The configuration section of <see cref="HttpWebhookOptions"/>.</param>
    public static IReconciliationBuilder AddHttpWebhook(this IReconciliationBuilder builder, string name, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(section);
        return AddHttpWebhookCore(builder, name, options => options.Bind(section).Configure(o => o.ConfigurationPath = section.Path));
    }

    /// <summary>
    /// Sends the operator-facing events (a heal proposed for approval, decisions, silences ending, flapping, pauses; see
    /// <see cref="HttpEventWebhookOptions.DefaultKinds"/>) to a URL as signed JSON POSTs. It acts on nothing.
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="configure">URL, secrets, which events.</param>
    public static IReconciliationBuilder AddHttpEventWebhook(this IReconciliationBuilder builder, Action<HttpEventWebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return AddHttpEventWebhookCore(builder, options => options.Configure(configure));
    }

    /// <summary>Sends the operator-facing events to a URL, with options bound from <paramref name="section"/> (e.g. <c>Reconciliation:Http:EventWebhook</c>).</summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="section">The configuration section of <see cref="HttpEventWebhookOptions"/>.</param>
    public static IReconciliationBuilder AddHttpEventWebhook(this IReconciliationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        return AddHttpEventWebhookCore(builder, options => options.Bind(section).Configure(o => o.ConfigurationPath = section.Path));
    }

    private static IReconciliationBuilder AddHttpEventWebhookCore(IReconciliationBuilder builder, Action<OptionsBuilder<HttpEventWebhookOptions>> configure)
    {
        var options = builder.Services.AddOptions<HttpEventWebhookOptions>();
        configure(options);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpEventWebhookOptions>, HttpEventWebhookOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HttpEventWebhookNotifier>());
        return builder;
    }

    private static IReconciliationBuilder AddHttpLatencyCore(IReconciliationBuilder builder, Action<HttpLatencyOptions> applyToScratch)
    {
        var services = builder.Services;
        services.AddOptions<HttpLatencyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpLatencyOptions>, HttpLatencyOptionsValidator>());
        services.TryAddSingleton<HttpLatencyListener>();

        // Probes are registered now, one per resource, so the groups must be known now: replay the configuration on a scratch copy.
        var registrations = Registrations(services);
        applyToScratch(registrations.Latency);
        foreach (var resource in registrations.Latency.Resources())
        {
            if (registrations.LatencyResources.Add(resource))
            {
                builder.AddProbe(sp => new HttpLatencyProbe(resource, sp.GetRequiredService<HttpLatencyListener>(),
                    sp.GetRequiredService<IOptions<HttpLatencyOptions>>().Value));
            }
        }

        return builder;
    }

    private static IReconciliationBuilder AddHttpEndpointCore(IReconciliationBuilder builder, string name, Action<OptionsBuilder<HttpEndpointOptions>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        if (!Registrations(services).Endpoints.Add(name))
        {
            throw new ArgumentException($"An HTTP endpoint named '{name}' is already registered; each endpoint is its own resource and needs its own name.", nameof(name));
        }

        var options = services.AddOptions<HttpEndpointOptions>(name);
        configure(options);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpEndpointOptions>, HttpEndpointOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return builder.AddProbe(sp => new HttpEndpointProbe(
            name,
            sp.GetRequiredService<IOptionsMonitor<HttpEndpointOptions>>().Get(name),
            sp.GetService<IHttpClientFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<HttpEndpointProbe>>()));
    }

    private static IReconciliationBuilder AddHttpWebhookCore(IReconciliationBuilder builder, string name, Action<OptionsBuilder<HttpWebhookOptions>> configure)
    {
        var services = builder.Services;
        if (!Registrations(services).Webhooks.Add(name))
        {
            throw new ArgumentException($"An HTTP webhook registration named '{name}' already exists; pass a distinct name for each webhook.", nameof(name));
        }

        var options = services.AddOptions<HttpWebhookOptions>(name);
        configure(options);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpWebhookOptions>, HttpWebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return builder.AddHealer(sp => new HttpWebhookHealer(
            sp.GetRequiredService<IOptionsMonitor<HttpWebhookOptions>>().Get(name),
            sp.GetService<IHttpClientFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<HttpWebhookHealer>>()));
    }

    private static HttpRegistrations Registrations(IServiceCollection services)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(HttpRegistrations) && descriptor.ImplementationInstance is HttpRegistrations existing)
            {
                return existing;
            }
        }

        var registrations = new HttpRegistrations();
        services.AddSingleton(registrations);
        return registrations;
    }

    /// <summary>What this service collection already registered, so repeated calls amend instead of duplicating probes.</summary>
    private sealed class HttpRegistrations
    {
        public HttpLatencyOptions Latency { get; } = new();

        public HashSet<string> LatencyResources { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Endpoints { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Webhooks { get; } = new(StringComparer.Ordinal);
    }
}
