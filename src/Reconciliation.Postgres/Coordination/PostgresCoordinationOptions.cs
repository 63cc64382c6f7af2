namespace Reconciliation.Postgres;

/// <summary>
/// Options of the PostgreSQL coordination store (<c>UsePostgresCoordination</c>): the fleet's shared heal journal, the
/// shared-resource lease with its fencing tokens, and each replica's saved rule state, in three tables of one schema.
/// Validated at start; messages name the key under <c>Reconciliation:Coordination:Postgres</c>.
/// </summary>
public sealed class PostgresCoordinationOptions
{
    /// <summary>The configuration section the messages name: <c>Reconciliation:Coordination:Postgres</c>.</summary>
    public const string SectionName = "Reconciliation:Coordination:Postgres";

    /// <summary>Default of <see cref="Schema"/>: <c>reconciliation</c>.</summary>
    public const string DefaultSchema = "reconciliation";

    /// <summary>The <c>application_name</c> of the store's own connections when the connection string sets none: <c>reconciliation-coordination</c>.</summary>
    public const string DefaultApplicationName = "reconciliation-coordination";

    /// <summary>Default of <see cref="LeaseTimeToLive"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultLeaseTimeToLive = TimeSpan.FromSeconds(30);

    /// <summary>The shortest <see cref="LeaseTimeToLive"/>: 1 second.</summary>
    public static readonly TimeSpan MinLeaseTimeToLive = TimeSpan.FromSeconds(1);

    /// <summary>The longest <see cref="LeaseTimeToLive"/>: 10 minutes.</summary>
    public static readonly TimeSpan MaxLeaseTimeToLive = TimeSpan.FromMinutes(10);

    /// <summary>Default of <see cref="JournalRetention"/>: 7 days.</summary>
    public static readonly TimeSpan DefaultJournalRetention = TimeSpan.FromDays(7);

    /// <summary>
    /// The shortest <see cref="JournalRetention"/>: 7 days, the longest attempt or budget window the heal options allow,
    /// so a window is never undercounted.
    /// </summary>
    public static readonly TimeSpan MinJournalRetention = InMemoryHealJournal.Retention;

    /// <summary>The longest <see cref="JournalRetention"/>: 365 days.</summary>
    public static readonly TimeSpan MaxJournalRetention = TimeSpan.FromDays(365);

    /// <summary>
    /// The schema that holds the tables <c>heal_journal</c>, <c>heal_lease</c> (with the sequence <c>heal_lease_token</c>)
    /// and <c>rule_state</c>; created if missing. Lower-case letters, digits and underscores, starting with a letter or
    /// underscore, at most 47 characters. Default <c>reconciliation</c>.
    /// </summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>
    /// How long a shared-resource lease lives on the server without renewal. The holder renews it every third of this
    /// while the heal runs, and gives it up (the healer is cancelled) when it could not renew before it would expire; a
    /// holder that died is replaced by the next one once it has passed. Counted on the PostgreSQL server's clock.
    /// </summary>
    /// <value>Between 1 second and 10 minutes; default 30 seconds.</value>
    public TimeSpan LeaseTimeToLive { get; set; } = DefaultLeaseTimeToLive;

    /// <summary>
    /// How long journal records are kept after they were written (on the server's clock). Older ones are deleted in
    /// batches of at most 5,000 after a process's first write and then at most once an hour per process.
    /// </summary>
    /// <value>Between 7 days (the longest window a heal policy may count) and 365 days; default 7 days.</value>
    public TimeSpan JournalRetention { get; set; } = DefaultJournalRetention;

    /// <summary>The connection string of the string overload, checked at start (never echoed); not configurable by binding.</summary>
    internal string? ConnectionString { get; set; }

    /// <summary>The bound section's path, when options came from configuration (messages name it).</summary>
    internal string? ConfigurationPath { get; set; }
}
