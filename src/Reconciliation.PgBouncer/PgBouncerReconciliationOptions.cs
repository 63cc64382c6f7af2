namespace Reconciliation.PgBouncer;

/// <summary>
/// Options of one PgBouncer registration (one pooler). Named options: the name is the pooler's name given to
/// <c>AddPgBouncer("pooler", ...)</c>, bound from a section such as <c>Reconciliation:PgBouncer:pooler</c>.
/// </summary>
public sealed class PgBouncerReconciliationOptions
{
    /// <summary>The admin console session's <c>application_name</c>: <c>reconciliation-pgbouncer</c>.</summary>
    public const string DefaultApplicationName = "reconciliation-pgbouncer";

    /// <summary>Default of <see cref="CommandTimeout"/>: 5 seconds.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Largest <see cref="CommandTimeout"/>: 5 minutes.</summary>
    public static readonly TimeSpan MaxCommandTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The admin console's connection string in Npgsql's format (<c>Host=pooler;Port=6432;Username=stats;Password=…</c>); the
    /// database is always <c>pgbouncer</c>. The user must be in <c>stats_users</c> for the probe, in <c>admin_users</c> for the
    /// healers. <c>SSL Mode</c> is honoured (Disable, Allow, Prefer, Require, VerifyCA, VerifyFull). Never logged.
    /// </summary>
    public string? AdminConnectionString { get; set; }

    /// <summary>
    /// The pooler databases (names in PgBouncer's <c>[databases]</c> section) this app uses. Each becomes a resource
    /// <c>&lt;name&gt;/&lt;database&gt;</c> with its own signals; the healers act only on these, never on other databases of a shared pooler.
    /// At least one is required.
    /// </summary>
    public IList<string> Databases { get; } = new List<string>();

    /// <summary>The admin session's <c>application_name</c>. Default <c>reconciliation-pgbouncer</c>.</summary>
    public string ApplicationName { get; set; } = DefaultApplicationName;

    /// <summary>The bound on the login and on each round trip with the console.</summary>
    /// <value>Default 5 seconds; from above zero up to 5 minutes.</value>
    public TimeSpan CommandTimeout { get; set; } = DefaultCommandTimeout;
}
