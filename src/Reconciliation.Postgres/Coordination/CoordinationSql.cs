namespace Reconciliation.Postgres;

/// <summary>
/// The coordination store's statements, built once from the validated, quoted schema name. Every value is a parameter;
/// the only text spliced in is the quoted schema. Every time is the server's (<c>now()</c>), except the journal's
/// <c>started_at</c>, which is the engine's own record of when it started a heal.
/// </summary>
internal sealed class CoordinationSql
{
    /// <summary>The layout this code writes and reads; the marker is each table's comment, checked before any DDL.</summary>
    public const string SchemaMarker = "reconciliation-coordination:1";

    /// <summary>The comment prefix of any coordination table this library created (an older or newer layout).</summary>
    public const string SchemaMarkerPrefix = "reconciliation-coordination:";

    public const string JournalTable = "heal_journal";
    public const string LeaseTable = "heal_lease";
    public const string StateTable = "rule_state";
    public const string ControlTable = "control_state";
    public const string TokenSequence = "heal_lease_token";

    /// <summary>The tables, in the order they are created (a store from before the operator controls gains the last one at its next start).</summary>
    public static readonly string[] Tables = [JournalTable, LeaseTable, StateTable, ControlTable];

    /// <summary>The most journal rows one retention run deletes (the next run, an hour later, takes the rest).</summary>
    public const int RetentionBatch = 5_000;

    // What counts as an attempt (HealRecord.IsAttempt): not a verdict, healed or failed. Also the partial indexes' predicate.
    private const string IsAttempt = "NOT is_verdict AND outcome IN ('Healed', 'Failed')";

    public CoordinationSql(string schema)
    {
        SchemaName = schema;
        var s = CoordinationIdentifier.Quote(schema);
        var journal = $"{s}.\"{JournalTable}\"";
        var lease = $"{s}.\"{LeaseTable}\"";
        var state = $"{s}.\"{StateTable}\"";
        var sequence = $"{s}.\"{TokenSequence}\"";
        var control = $"{s}.\"{ControlTable}\"";

        // A catalog scan under the statement's snapshot (no lock on any table): after the advisory lock it sees tables
        // another replica just created.
        CheckVersion = """
            SELECT c.relname::text, obj_description(c.oid, 'pg_class')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relname = ANY(@names) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            """;

        LockName = "reconciliation.coordination:" + schema;
        CreateSchema = $"CREATE SCHEMA IF NOT EXISTS {s}";
        CreateTable = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [JournalTable] = $"""
                CREATE TABLE {journal} (
                    id          uuid PRIMARY KEY,
                    healer      text NOT NULL,
                    resource    text NOT NULL,
                    rule        text NOT NULL,
                    replica     text NULL,
                    lease_token bigint NULL,
                    outcome     text NOT NULL,
                    reason      text NULL,
                    is_verdict  boolean NOT NULL DEFAULT false,
                    started_at  timestamptz NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX "{JournalTable}_attempts" ON {journal} (healer, resource, started_at) WHERE {IsAttempt};
                CREATE INDEX "{JournalTable}_started_at" ON {journal} (started_at);
                CREATE INDEX "{JournalTable}_recorded_at" ON {journal} (recorded_at);
                COMMENT ON TABLE {journal} IS '{SchemaMarker}';
                """,
            [LeaseTable] = $"""
                CREATE SEQUENCE IF NOT EXISTS {sequence};
                CREATE TABLE {lease} (
                    resource   text PRIMARY KEY,
                    holder     text NOT NULL,
                    token      bigint NOT NULL,
                    expires_at timestamptz NOT NULL
                );
                COMMENT ON TABLE {lease} IS '{SchemaMarker}';
                """,
            [StateTable] = $"""
                CREATE TABLE {state} (
                    replica  text PRIMARY KEY,
                    state    jsonb NOT NULL,
                    saved_at timestamptz NOT NULL DEFAULT now()
                );
                COMMENT ON TABLE {state} IS '{SchemaMarker}';
                """,
            [ControlTable] = $"""
                CREATE TABLE {control} (
                    name     text PRIMARY KEY,
                    version  bigint NOT NULL,
                    document jsonb NOT NULL,
                    saved_at timestamptz NOT NULL DEFAULT now()
                );
                COMMENT ON TABLE {control} IS '{SchemaMarker}';
                """,
        };

        // One statement: a new token only when the row is free (never taken, expired, or released). The token comes from
        // the sequence, so it is greater than every token any holder of any resource got before; the extra check keeps it
        // strictly increasing per resource even against a statement that drew its number earlier and committed later.
        Acquire = $"""
            INSERT INTO {lease} AS l (resource, holder, token, expires_at)
            VALUES (@resource, @holder, nextval('{sequence}'), now() + @ttl)
            ON CONFLICT (resource) DO UPDATE
                SET holder = EXCLUDED.holder, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
                WHERE l.expires_at <= now() AND l.token < EXCLUDED.token
            RETURNING l.token
            """;

        Renew = $"UPDATE {lease} SET expires_at = now() + @ttl WHERE resource = @resource AND token = @token AND expires_at > now()";

        // The row stays: the fencing check needs the highest token a resource ever had.
        Release = $"UPDATE {lease} SET expires_at = '-infinity' WHERE resource = @resource AND token = @token";

        // One statement: the fence reads the lease row FOR SHARE, so an acquire that commits first is seen (the row is
        // re-read after its lock) and an acquire that comes later waits for this insert. Fenced: nothing is inserted.
        Record = $"""
            WITH fence AS (
                SELECT token FROM {lease}
                WHERE @lease_token::bigint IS NOT NULL AND resource = @resource AND token > @lease_token::bigint
                FOR SHARE
            ), inserted AS (
                INSERT INTO {journal} (id, healer, resource, rule, replica, lease_token, outcome, reason, is_verdict, started_at)
                SELECT @id, @healer, @resource, @rule, @replica, @lease_token::bigint, @outcome, @reason, @is_verdict, @started_at
                WHERE NOT EXISTS (SELECT 1 FROM fence)
                ON CONFLICT (id) DO NOTHING
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM inserted), EXISTS (SELECT 1 FROM fence), EXISTS (SELECT 1 FROM {journal} WHERE id = @id)
            """;

        CountAttempts = $"""
            SELECT count(*)::int FROM {journal}
            WHERE healer = @healer AND resource = @resource AND started_at >= @since AND {IsAttempt}
              AND (@replica::text IS NULL OR replica = @replica::text)
            """;

        AttemptTimes = $"""
            SELECT started_at FROM {journal}
            WHERE healer = @healer AND started_at >= @since AND {IsAttempt}
              AND (@replica::text IS NULL OR replica = @replica::text)
            ORDER BY started_at DESC
            LIMIT @max
            """;

        CountAllAttempts = $"SELECT count(*)::int FROM {journal} WHERE started_at >= @since AND {IsAttempt}";

        Recent = $"""
            SELECT id, healer, resource, rule, replica, lease_token, outcome, reason, is_verdict, started_at
            FROM {journal}
            ORDER BY started_at DESC, recorded_at DESC
            LIMIT @max
            """;

        // By when a record was written, on the server's clock alone: a replica whose clock is off (or a fake one in a test)
        // never gets its fresh records deleted, and a record replayed late is kept a whole retention too.
        Prune = $"""
            DELETE FROM {journal} WHERE id IN (
                SELECT id FROM {journal} WHERE recorded_at < now() - @retention ORDER BY recorded_at LIMIT {RetentionBatch})
            """;

        SaveState = $"""
            INSERT INTO {state} (replica, state, saved_at) VALUES (@replica, @state::jsonb, now())
            ON CONFLICT (replica) DO UPDATE SET state = EXCLUDED.state, saved_at = EXCLUDED.saved_at
            """;

        DeleteState = $"DELETE FROM {state} WHERE replica = @replica";

        LoadState = $"SELECT state::text FROM {state} WHERE replica = @replica";

        ReadControl = $"SELECT document::text, version FROM {control} WHERE name = 'default'";

        // Compare-and-swap: the first write inserts version 1 only if no row exists; later ones update only the version read.
        InsertControl = $"INSERT INTO {control} (name, version, document) VALUES ('default', 1, @document::jsonb) ON CONFLICT (name) DO NOTHING";

        UpdateControl = $"UPDATE {control} SET version = version + 1, document = @document::jsonb, saved_at = now() WHERE name = 'default' AND version = @expected";
    }

    public string ReadControl { get; }

    public string InsertControl { get; }

    public string UpdateControl { get; }

    public string SchemaName { get; }

    public string LockName { get; }

    public string CheckVersion { get; }

    public string CreateSchema { get; }

    public IReadOnlyDictionary<string, string> CreateTable { get; }

    public string Acquire { get; }

    public string Renew { get; }

    public string Release { get; }

    public string Record { get; }

    public string CountAttempts { get; }

    public string AttemptTimes { get; }

    public string CountAllAttempts { get; }

    public string Recent { get; }

    public string Prune { get; }

    public string SaveState { get; }

    public string DeleteState { get; }

    public string LoadState { get; }
}
