using Reconciliation.PgBouncer.Telemetry;

namespace Reconciliation.PgBouncer;

/// <summary>
/// The PgBouncer healers share this shape: they act on ONE declared pooler database, the one the violation's resource
/// (<c>&lt;pooler&gt;/&lt;database&gt;</c>) names, with one console command each; resources of other databases, declared by
/// other apps on a shared pooler, never apply. Each heal touches one database, so <see cref="HealContext.MaxTargets"/>
/// (at least 1 when set) never binds.
/// </summary>
internal abstract class PgBouncerDatabaseHealer : IHealer
{
    protected PgBouncerDatabaseHealer(PgBouncerResource pooler)
    {
        ArgumentNullException.ThrowIfNull(pooler);
        Pooler = pooler;
    }

    public abstract string Name { get; }

    public abstract bool IsDestructive { get; }

    public HealScope Scope => HealScope.SharedResource;

    protected PgBouncerResource Pooler { get; }

    public bool AppliesTo(string resource) => Pooler.DatabaseOf(resource) is not null;

    public string DescribePlan(HealContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Plan(Pooler.DatabaseOf(context.Resource) ?? "(not a declared database)");
    }

    public async ValueTask<HealOutcome> HealAsync(HealContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Pooler.DatabaseOf(context.Resource) is not { } database)
        {
            // The engine only calls a healer that applies; this guards direct calls.
            return HealOutcome.Skipped($"'{context.Resource}' is not a database declared for pooler '{Pooler.Name}'");
        }

        if (context.MaxTargets is < 1)
        {
            return HealOutcome.Skipped("MaxTargets is 0: no database may be touched");
        }

        try
        {
            return await ActAsync(database, context.Resource, cancellationToken).ConfigureAwait(false);
        }
        catch (PgBouncerErrorException e)
        {
            return HealOutcome.Failed($"the pooler refused: {e.ServerMessage}");
        }
    }

    protected abstract string Plan(string database);

    protected abstract Task<HealOutcome> ActAsync(string database, string resource, CancellationToken cancellationToken);
}

/// <summary><c>pgbouncer.reconnect</c>: <c>RECONNECT db</c> (server connections close once released; after a failover or a changed password).</summary>
internal sealed class PgBouncerReconnectHealer(PgBouncerResource pooler) : PgBouncerDatabaseHealer(pooler)
{
    public override string Name => PgBouncerHealerNames.Reconnect;

    public override bool IsDestructive => false;

    protected override string Plan(string database) =>
        $"RECONNECT {database} on pooler '{Pooler.Name}': close its server connections as they are released, open fresh ones";

    protected override async Task<HealOutcome> ActAsync(string database, string resource, CancellationToken cancellationToken)
    {
        await Pooler.ExecuteAsync(["RECONNECT " + PgBouncerResource.Quote(database)], cancellationToken).ConfigureAwait(false);
        Pooler.Logger.Reconnected(resource);
        return HealOutcome.Healed($"RECONNECT {database}: server connections are replaced as they are released");
    }
}

/// <summary>
/// <c>pgbouncer.kill-db</c> (destructive, opt-in): <c>KILL db</c> drops every client and server connection of the database
/// at once, then <c>RESUME db</c> (sent in the same round trip) lets it take connections again.
/// </summary>
internal sealed class PgBouncerKillDatabaseHealer(PgBouncerResource pooler) : PgBouncerDatabaseHealer(pooler)
{
    public override string Name => PgBouncerHealerNames.KillDatabase;

    public override bool IsDestructive => true;

    protected override string Plan(string database) =>
        $"KILL {database} on pooler '{Pooler.Name}' (drop every client and server connection of it), then RESUME {database}";

    protected override async Task<HealOutcome> ActAsync(string database, string resource, CancellationToken cancellationToken)
    {
        var quoted = PgBouncerResource.Quote(database);
        try
        {
            await Pooler.ExecuteAsync(["KILL " + quoted, "RESUME " + quoted], cancellationToken).ConfigureAwait(false);
        }
        catch (PgBouncerErrorException e) when (e.Message.StartsWith("RESUME", StringComparison.Ordinal))
        {
            return HealOutcome.Failed($"KILL {database} done but RESUME failed ({e.ServerMessage}): the database stays paused until {PgBouncerHealerNames.Resume} or an operator resumes it");
        }

        Pooler.Logger.Killed(resource);
        return HealOutcome.Healed($"KILL {database} dropped its connections; RESUME {database} let it take new ones");
    }
}

/// <summary><c>pgbouncer.resume</c>: <c>RESUME db</c> for a paused or killed database; skipped when it is not paused.</summary>
internal sealed class PgBouncerResumeHealer(PgBouncerResource pooler) : PgBouncerDatabaseHealer(pooler)
{
    public override string Name => PgBouncerHealerNames.Resume;

    public override bool IsDestructive => false;

    protected override string Plan(string database) => $"RESUME {database} on pooler '{Pooler.Name}' if it is paused";

    protected override async Task<HealOutcome> ActAsync(string database, string resource, CancellationToken cancellationToken)
    {
        var snapshot = await Pooler.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot.Database(database) is not { Paused: true })
        {
            return HealOutcome.Skipped($"{database} is not paused");
        }

        await Pooler.ExecuteAsync(["RESUME " + PgBouncerResource.Quote(database)], cancellationToken).ConfigureAwait(false);
        Pooler.Logger.Resumed(resource);
        return HealOutcome.Healed($"RESUME {database}: it takes connections again");
    }
}
