using Microsoft.Extensions.Hosting;

namespace Reconciliation.BuiltIn;

/// <summary>
/// <c>app.restart</c> (destructive, opt-in): a graceful <see cref="IHostApplicationLifetime.StopApplication"/>.
/// The orchestrator (Kubernetes, systemd) starts the process again; in-flight requests drain within the host's shutdown timeout.
/// </summary>
public sealed class AppRestartHealer : IHealer
{
    /// <summary>The healer's name, <c>app.restart</c>.</summary>
    public const string HealerName = "app.restart";

    private readonly IHostApplicationLifetime? _lifetime;

    /// <summary>Creates the healer.</summary>
    public AppRestartHealer(IHostApplicationLifetime lifetime)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        _lifetime = lifetime;
    }

    // Registered by AddStateReconciliation for every app, also one without a generic host (a console tool, a test's
    // plain ServiceCollection): there it has no lifetime to stop, and says so instead of failing the whole container.
    private AppRestartHealer(IHostApplicationLifetime? lifetime, bool optional)
    {
        _ = optional;
        _lifetime = lifetime;
    }

    internal static AppRestartHealer Create(IHostApplicationLifetime? lifetime) => new(lifetime, optional: true);

    /// <inheritdoc />
    public string Name => HealerName;

    /// <inheritdoc />
    public bool IsDestructive => true;

    /// <inheritdoc />
    public HealScope Scope => HealScope.Process;

    /// <inheritdoc />
    public string DescribePlan(HealContext context) => "stop this process gracefully so its supervisor restarts it";

    /// <inheritdoc />
    public ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (_lifetime is null)
        {
            return ValueTask.FromResult(HealOutcome.Failed("no IHostApplicationLifetime is registered: this process does not run in a host it could stop"));
        }

        _lifetime.StopApplication();
        return ValueTask.FromResult(HealOutcome.Healed("graceful stop requested"));
    }
}
