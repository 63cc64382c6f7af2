using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using System.Diagnostics.Metrics;
using Reconciliation.Queue;
using Cronos;
using Reconciliation.Queue.Notifications;
using Reconciliation.Queue.Recurring;
using Reconciliation.Queue.Telemetry;
using Reconciliation.Queue.Workers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers PostgreSQL job queues (<c>.AddPostgresQueue("emails")</c>), their probe and healers, and opt-in workers
/// (<c>.AddQueueWorker&lt;EmailHandler, EmailJob&gt;("emails", o =&gt; o.Concurrency = 8)</c>).
/// </summary>
public static class QueueReconciliationBuilderExtensions
{
    /// <summary>
    /// Adds the queue <paramref name="name"/> (the resource its signals and healers refer to): the <see cref="IJobQueue"/>
    /// (keyed by name, and through <see cref="IJobQueueFactory"/>), the <c>queue.*</c> probe, the
    /// <c>queue.requeue-stuck</c> and <c>queue.dead-letter</c> healers, and the retention service. The data source is
    /// <see cref="PostgresQueueOptions.DataSource"/>, else the app's <see cref="NpgsqlDataSource"/> from DI.
    /// Options are validated at start (a table name that is not a plain identifier fails start, naming the key).
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The queue's name; also its table name unless <see cref="PostgresQueueOptions.TableName"/> is set.</param>
    /// <param name="configure">Configures the options.</param>
    public static IReconciliationBuilder AddPostgresQueue(this IReconciliationBuilder builder, string name, Action<PostgresQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = AddQueueCore(builder, name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }

    /// <summary>
    /// Adds the queue <paramref name="name"/> with options bound from <paramref name="configuration"/> (for example the
    /// section <c>Reconciliation:Queues:emails</c>; validation messages name keys under its path), then <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="name">The queue's name.</param>
    /// <param name="configuration">The section holding the queue's options.</param>
    /// <param name="configure">Configures the options after binding (e.g. the data source).</param>
    public static IReconciliationBuilder AddPostgresQueue(this IReconciliationBuilder builder, string name, IConfiguration configuration,
        Action<PostgresQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        var path = configuration is IConfigurationSection section ? section.Path : null;
        var options = AddQueueCore(builder, name).Bind(configuration).Configure(o => o.ConfigurationPath = path);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }

    /// <summary>
    /// Adds a hosted worker that runs the jobs of queue <paramref name="queueName"/> with <typeparamref name="THandler"/>
    /// (resolved from a new scope per job; registered as scoped unless already registered). Call it once per worker;
    /// each runs up to <see cref="QueueWorkerOptions.Concurrency"/> jobs at once.
    /// </summary>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <typeparam name="TPayload">The payload type the jobs carry.</typeparam>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="queueName">A queue added with <see cref="AddPostgresQueue(IReconciliationBuilder, string, Action{PostgresQueueOptions}?)"/>.</param>
    /// <param name="configure">Configures the worker (concurrency, poll interval, heartbeat interval).</param>
    public static IReconciliationBuilder AddQueueWorker<THandler, TPayload>(this IReconciliationBuilder builder, string queueName, Action<QueueWorkerOptions>? configure = null)
        where THandler : class, IJobHandler<TPayload>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        var services = builder.Services;
        var workerName = $"{queueName}:{typeof(THandler).FullName}:{services.Count}";
        var what = $"The worker {typeof(THandler).Name} of queue '{queueName}'";
        var options = services.AddOptions<QueueWorkerOptions>(workerName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.Concurrency >= 1, $"{what}: Concurrency must be at least 1.")
            .Validate(o => o.PollInterval > TimeSpan.Zero, $"{what}: PollInterval must be positive.")
            .Validate(o => o.ErrorDelay > TimeSpan.Zero, $"{what}: ErrorDelay must be positive.")
            .Validate(o => o.HeartbeatInterval is null || o.HeartbeatInterval > TimeSpan.Zero, $"{what}: HeartbeatInterval must be positive.")
            .Validate(o => o.Prefetch is null or >= 0, $"{what}: Prefetch must be at least 0.")
            .Validate(o => o.PrefetchHorizon > TimeSpan.Zero, $"{what}: PrefetchHorizon must be positive.")
            .ValidateOnStart();

        services.TryAddScoped<THandler>();
        services.AddSingleton<IHostedService>(sp => new QueueWorker<TPayload, THandler>(
            GetQueue(sp, queueName),
            sp.GetRequiredService<IServiceScopeFactory>(),
            sp.GetRequiredService<IOptionsMonitor<QueueWorkerOptions>>().Get(workerName),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            Loggers(sp).CreateLogger(typeof(QueueWorker<,>).Namespace + ".QueueWorker"),
            sp.GetRequiredService<QueueListenerHub>().For(GetQueue(sp, queueName).DataSource),
            sp.GetRequiredService<QueueMetrics>()));
        return builder;
    }

    /// <summary>
    /// Adds a recurring job: at every slot of <paramref name="cron"/> one job with the payload <paramref name="payload"/>(slot)
    /// is enqueued on queue <paramref name="queueName"/>, once per slot however many replicas register it (each replica's
    /// scheduler enqueues the slot under the same idempotency key; the queue's unique index keeps one).
    /// </summary>
    /// <typeparam name="TPayload">The payload type (its worker runs the jobs).</typeparam>
    /// <param name="builder">The reconciliation builder.</param>
    /// <param name="queueName">A queue added with <c>AddPostgresQueue</c>.</param>
    /// <param name="name">The recurring job's name, unique per queue (part of each slot's idempotency key).</param>
    /// <param name="cron">A cron expression (five fields, or six with <see cref="RecurringJobOptions.IncludeSeconds"/>), parsed now.</param>
    /// <param name="payload">Builds the payload of a slot's job from the slot's time.</param>
    /// <param name="configure">Configures time zone, seconds, priority, attempts.</param>
    /// <exception cref="ArgumentException">The expression does not parse (the message names the recurring job).</exception>
    public static IReconciliationBuilder AddRecurringJob<TPayload>(this IReconciliationBuilder builder, string queueName, string name, string cron,
        Func<DateTimeOffset, TPayload> payload, Action<RecurringJobOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(cron);
        ArgumentNullException.ThrowIfNull(payload);
        var options = new RecurringJobOptions();
        configure?.Invoke(options);
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(cron, options.IncludeSeconds ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new ArgumentException($"The recurring job '{name}' of queue '{queueName}': '{cron}' is not a valid cron expression ({e.Message}).", nameof(cron), e);
        }

        builder.Services.AddSingleton<IHostedService>(sp => new RecurringJobScheduler<TPayload>(GetQueue(sp, queueName), name, expression, payload, options,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, Loggers(sp).CreateLogger<RecurringJobScheduler<TPayload>>()));
        return builder;
    }

    private static OptionsBuilder<PostgresQueueOptions> AddQueueCore(IReconciliationBuilder builder, string name)
    {
        var services = builder.Services;
        var options = services.AddOptions<PostgresQueueOptions>(name);
        if (services.Any(d => d.IsKeyedService && d.ServiceType == typeof(PostgresJobQueue) && Equals(d.ServiceKey, name)))
        {
            // Added before: only the new configuration applies, nothing is registered twice.
            return options;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<PostgresQueueOptions>>(new PostgresQueueOptionsValidator(name));
        services.TryAddSingleton<IJobQueueFactory, JobQueueFactory>();
        services.TryAddSingleton(sp => new QueueListenerHub(sp.GetService<TimeProvider>() ?? TimeProvider.System, Loggers(sp)));
        services.TryAddSingleton(sp => new QueueMetrics(sp.GetService<IMeterFactory>()));
        services.AddKeyedSingleton(name, (sp, _) => CreateQueue(sp, name));
        services.AddKeyedSingleton<IJobQueue>(name, (sp, _) => sp.GetRequiredKeyedService<PostgresJobQueue>(name));

        builder.AddProbe(sp => new QueueProbe(GetQueue(sp, name), Loggers(sp).CreateLogger<QueueProbe>()));
        builder.AddHealer(sp => new RequeueStuckHealer(GetQueue(sp, name), Loggers(sp).CreateLogger<RequeueStuckHealer>()));
        builder.AddHealer(sp => new DeadLetterHealer(GetQueue(sp, name), Loggers(sp).CreateLogger<DeadLetterHealer>()));
        services.AddSingleton<IHostedService>(sp => new QueueRescueService(GetQueue(sp, name),
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<QueueMetrics>(), Loggers(sp).CreateLogger<QueueRescueService>()));
        services.AddSingleton<IHostedService>(sp => new QueueRetentionService(GetQueue(sp, name),
            sp.GetService<TimeProvider>() ?? TimeProvider.System, Loggers(sp).CreateLogger<QueueRetentionService>()));
        return options;
    }

    private static PostgresJobQueue CreateQueue(IServiceProvider services, string name)
    {
        // Get(name) runs the validators: an invalid table name throws OptionsValidationException naming the key.
        var options = services.GetRequiredService<IOptionsMonitor<PostgresQueueOptions>>().Get(name);
        var dataSource = options.DataSource ?? services.GetService<NpgsqlDataSource>()
            ?? throw new InvalidOperationException(
                $"Queue '{name}' has no data source: set PostgresQueueOptions.DataSource in AddPostgresQueue(\"{name}\", o => ...) or register an NpgsqlDataSource (AddNpgsqlDataSource).");
        return new PostgresJobQueue(name, dataSource, options, Loggers(services).CreateLogger<PostgresJobQueue>());
    }

    private static PostgresJobQueue GetQueue(IServiceProvider services, string name) =>
        services.GetKeyedService<PostgresJobQueue>(name)
        ?? throw new InvalidOperationException($"No queue named '{name}' is registered; call AddPostgresQueue(\"{name}\") on the reconciliation builder.");

    private static ILoggerFactory Loggers(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
