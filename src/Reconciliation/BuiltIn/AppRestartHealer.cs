using Microsoft.Extensions.Hosting;

namespace Reconciliation.BuiltIn;

/// <summary>
/// <c>app.restart</c> (destructive, opt-in): a graceful <see cref="IHostApplicationLifetime.StopApplication"/>.
/// The orchestrator (Kubernetes, systemd) starts the process again; in-flight requests drain within the host's shutdown timeout.
/// Beyond its heal policy it has two limits of its own (<see cref="AppRestartOptions"/>), read from the heal journal:
/// a crash-loop breaker (after K restarts of this replica within a window it pauses, and the pause outlives restarts
/// when the journal is durable) and a fleet guard (at most N restarts of any replica per window, and one at a time).
/// </summary>
public sealed class AppRestartHealer : IHealer
{
    /// <summary>The healer's name, <c>app.restart</c>.</summary>
    public const string HealerName = "app.restart";

    /// <summary>The lease one restarting replica holds until it has exited, so two replicas never restart at once.</summary>
    internal const string FleetLeaseResource = "app.restart (fleet)";

    private readonly IHostApplicationLifetime? _lifetime;
    private readonly Func<(IHealJournal Journal, IHealLease Lease, TimeProvider Time, ReconciliationOptions Options)>? _limits;

    /// <summary>Creates the healer without its journal-based limits (for a host that registers it by hand).</summary>
    public AppRestartHealer(IHostApplicationLifetime lifetime)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        _lifetime = lifetime;
    }

    // Registered by AddStateReconciliation for every app, also one without a generic host (a console tool, a test's
    // plain ServiceCollection): there it has no lifetime to stop, and says so instead of failing the whole container.
    // The journal, lease and options are resolved when a restart is due, never at construction: the options'
    // validator lists the healers, so resolving them while the healers are being built would be a cycle.
    private AppRestartHealer(IHostApplicationLifetime? lifetime, Func<(IHealJournal, IHealLease, TimeProvider, ReconciliationOptions)> limits)
    {
        _lifetime = lifetime;
        _limits = limits;
    }

    internal static AppRestartHealer Create(IHostApplicationLifetime? lifetime, Func<(IHealJournal, IHealLease, TimeProvider, ReconciliationOptions)> limits) =>
        new(lifetime, limits);

    /// <inheritdoc />
    public string Name => HealerName;

    /// <inheritdoc />
    public bool IsDestructive => true;

    /// <inheritdoc />
    public HealScope Scope => HealScope.Process;

    /// <inheritdoc />
    public string DescribePlan(HealContext context) => "stop this process gracefully so its supervisor restarts it";

    /// <inheritdoc />
    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        if (_lifetime is null)
        {
            return HealOutcome.Failed("no IHostApplicationLifetime is registered: this process does not run in a host it could stop");
        }

        if (_limits is not null)
        {
            var (journal, leases, time, options) = _limits();
            var limits = options.AppRestart;
            var now = time.GetUtcNow();
            var mine = await journal.AttemptTimesAsync(HealerName, options.ReplicaId, now - limits.CrashLoopWindow - limits.CrashLoopPause,
                AppRestartGuard.MaxTimesRead, cancellationToken).ConfigureAwait(false);
            if (AppRestartGuard.CrashLoopPausedUntil(mine, limits, now) is { } pausedUntil)
            {
                return HealOutcome.Skipped($"crash-loop breaker open: {limits.CrashLoopRestarts} restarts of replica {options.ReplicaId} within {limits.CrashLoopWindow}; no restart before {pausedUntil:u}");
            }

            // One replica at a time: the lease is never released by this process; it lapses after the process exited
            // (a renewing lease stops renewing), by when its restart is in the journal for the fleet guard to count.
            var lease = await leases.TryAcquireAsync(FleetLeaseResource, limits.FleetWindow, cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                return HealOutcome.Skipped("fleet guard: another replica is restarting");
            }

            var fleet = await journal.AttemptTimesAsync(HealerName, null, now - limits.FleetWindow, limits.MaxFleetRestarts, cancellationToken).ConfigureAwait(false);
            if (AppRestartGuard.FleetGuardUntil(fleet, limits) is { } guardUntil)
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                return HealOutcome.Skipped($"fleet guard: {fleet.Count} restarts in the fleet within {limits.FleetWindow}; no restart before {guardUntil:u}");
            }
        }

        _lifetime.StopApplication();
        return HealOutcome.Healed("graceful stop requested");
    }
}
