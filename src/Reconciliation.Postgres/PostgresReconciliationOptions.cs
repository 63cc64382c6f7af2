namespace Reconciliation.Postgres;

/// <summary>
/// Options of one PostgreSQL registration (one resource). Named options: the name is the resource
/// (<c>services.Configure&lt;PostgresReconciliationOptions&gt;("main-db", o =&gt; ...)</c>), bound by
/// <c>AddPostgres(..., configuration)</c> from a section such as <c>Reconciliation:Postgres:main-db</c>.
/// </summary>
public sealed class PostgresReconciliationOptions
{
    /// <summary>The resource name used when none is given: <c>postgres</c>.</summary>
    public const string DefaultResource = "postgres";

    /// <summary>The probe's own <c>application_name</c>: <c>reconciliation-probe</c>.</summary>
    public const string DefaultProbeApplicationName = "reconciliation-probe";

    /// <summary>
    /// The threshold of <c>postgres.terminate-idle-in-transaction</c> when <see cref="TerminateIdleInTransactionAfter"/> is
    /// unset and the calling rule does not watch <c>postgres.idle_in_transaction.max_age</c>: one minute.
    /// </summary>
    public static readonly TimeSpan DefaultTerminateIdleInTransactionAfter = TimeSpan.FromMinutes(1);

    /// <summary>Default of <see cref="CancelBlockersAfter"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultCancelBlockersAfter = TimeSpan.FromSeconds(30);

    /// <summary>Default of <see cref="ProbeConnectionIdleLifetime"/>: one minute.</summary>
    public static readonly TimeSpan DefaultProbeConnectionIdleLifetime = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most sessions one heal of <c>postgres.terminate-idle-in-transaction</c> or <c>postgres.cancel-blockers</c> signals
    /// when the healer's policy sets no <c>MaxTargets</c>: 10. The rest wait for the next heal, and the outcome says so.
    /// </summary>
    public const int DefaultMaxTargets = 10;

    /// <summary>Default of <see cref="Replicas"/>: 1.</summary>
    public const int DefaultReplicas = 1;

    /// <summary>
    /// The resource name signals, violations and heals are reported under (<c>main-db</c>). Default <c>postgres</c>.
    /// The name-keyed <c>AddPostgres(resource, ...)</c> overloads set it; each registration needs its own.
    /// </summary>
    public string Resource { get; set; } = DefaultResource;

    /// <summary>
    /// The name Npgsql tags the app pool's metrics with (<c>db.client.connection.pool.name</c>). Set it when the data source
    /// was built with <c>NpgsqlDataSourceBuilder.Name</c>; without it the probe uses Npgsql's default (the connection string
    /// without its password). When nothing matches, <c>postgres.pool.*</c> have no reading and a warning is logged once.
    /// </summary>
    public string? PoolName { get; set; }

    /// <summary>
    /// Optional connection string for the probe, the session healers and the migration gate, typically a monitoring role
    /// with <c>pg_monitor</c> and <c>pg_signal_backend</c>. Without it they connect like the app's data source: through a
    /// data source of their own built from its connection string that logs in with the app's data source's password of the
    /// moment (static or from its password provider, asked at each login) and SSL callback. Either way the probe gets its own
    /// session, and its Npgsql pool is named <c>reconciliation-probe:&lt;resource&gt;</c> (docs/postgres.md, "The probe's connection").
    /// </summary>
    public string? ProbeConnectionString { get; set; }

    /// <summary>The probe's own <c>application_name</c>, so its session is recognisable and never a healer's target. Default <c>reconciliation-probe</c>.</summary>
    public string ProbeApplicationName { get; set; } = DefaultProbeApplicationName;

    /// <summary>
    /// How long the probe's single pooled connection may sit idle before Npgsql closes it. Default one minute: longer than
    /// usual tick intervals, so each tick is one round trip instead of a new login, and short enough that the
    /// connection goes away when ticks stop. Between ticks the session is <c>idle</c> (no transaction, no locks).
    /// </summary>
    public TimeSpan ProbeConnectionIdleLifetime { get; set; } = DefaultProbeConnectionIdleLifetime;

    /// <summary>
    /// The <c>application_name</c>s of this app's sessions: part of the session healers' scope.
    /// <c>postgres.terminate-idle-in-transaction</c> and <c>postgres.cancel-blockers</c> act only on client-backend sessions
    /// of the app's database whose name is one of these AND whose role is one of <see cref="Roles"/>. Empty (the default):
    /// the Application Name of the app's data source; with none the healers act on nothing.
    /// </summary>
    public IList<string> ApplicationNames { get; } = new List<string>();

    /// <summary>
    /// The roles (<c>pg_stat_activity.usename</c>) whose sessions the session healers may signal: part of their scope, with
    /// <see cref="ApplicationNames"/>. Empty (the default): the user of the app's data source only, so an administrator's
    /// <c>psql</c> or another service that happens to use the app's application name is never touched. Add a role here only
    /// when the app itself connects under it too.
    /// </summary>
    public IList<string> Roles { get; } = new List<string>();

    /// <summary>
    /// True (the default): <c>postgres.idle_in_transaction.*</c> count only the sessions the terminate healer may act on
    /// (client backends of <see cref="ApplicationNames"/> and <see cref="Roles"/>), so a violation it healed can close. False: every session of the database.
    /// When no application name is known the signals cover every session of the database.
    /// </summary>
    public bool IdleInTransactionOfApplicationsOnly { get; set; } = true;

    /// <summary>
    /// <c>postgres.terminate-idle-in-transaction</c> terminates sessions idle in a transaction for longer than this
    /// (server clock: <c>now() - state_change</c>). Unset (the default): the <c>Above</c> of the rule that calls the healer,
    /// when that rule watches <c>postgres.idle_in_transaction.max_age</c>, so a rule at 30 s terminates the sessions that
    /// opened it; called by any other rule, <see cref="DefaultTerminateIdleInTransactionAfter"/> (one minute). Set, it
    /// applies to every rule, and a rule on <c>postgres.idle_in_transaction.max_age</c> whose <c>Above</c> differs is
    /// logged as a warning at start (the healer would skip, or act on younger sessions than the rule names).
    /// </summary>
    public TimeSpan? TerminateIdleInTransactionAfter { get; set; }

    /// <summary>
    /// <c>postgres.cancel-blockers</c> cancels sessions that block a statement that has waited on a lock longer than this
    /// (server clock: <c>now() - pg_locks.waitstart</c> of the waiter, PostgreSQL 14+). Default 30 seconds.
    /// </summary>
    public TimeSpan CancelBlockersAfter { get; set; } = DefaultCancelBlockersAfter;

    /// <summary>How many replicas of this app run against the server (for the connection budget). Default 1.</summary>
    public int Replicas { get; set; } = DefaultReplicas;

    /// <summary>Connections other clients are declared to need (other services, migrations, admin tools), for the connection budget. Default 0.</summary>
    public int OtherClients { get; set; }

    /// <summary>The bounds of the migration gate.</summary>
    public PostgresMigrationGateOptions MigrationGate { get; set; } = new();
}
