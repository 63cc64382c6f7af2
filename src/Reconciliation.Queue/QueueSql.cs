namespace Reconciliation.Queue;

/// <summary>
/// The statements of one queue, built once from its validated, quoted table name. Every value is a parameter; the only
/// text spliced in is the quoted identifier.
/// </summary>
internal sealed class QueueSql
{
    /// <summary>The schema layout this code writes and reads; stored as the table's comment, checked before any DDL.</summary>
    public const int SchemaVersion = 2;

    /// <summary>The table comment that marks a queue table of <see cref="SchemaVersion"/>.</summary>
    public const string SchemaMarker = "reconciliation-queue:2";

    /// <summary>The comment prefix of any queue table this library created.</summary>
    public const string SchemaMarkerPrefix = "reconciliation-queue:";

    /// <summary>The one notification channel of every queue in a database; the payload names the table (and a cancelled job).</summary>
    public const string Channel = "reconciliation_queue";

    /// <summary>The columns a table must have to be adopted as a queue table.</summary>
    public static readonly string[] RequiredColumns =
    [
        "id", "kind", "state", "priority", "payload", "idempotency_key", "key_held", "unique_until", "run_at", "enqueued_at",
        "attempts", "max_attempts", "releases", "lease_token", "leased_at", "leased_until", "heartbeat_at", "completed_at",
        "completions", "dead_at", "last_error", "errors",
    ];

    // A job whose lease expired (leases are pushed out by heartbeats), or whose worker stopped heartbeating
    // (@heartbeat_timeout NULL turns that check off).
    private const string StuckRunning = "state = 'running' AND (leased_until < now() OR heartbeat_at < now() - @heartbeat_timeout)";

    // The states in which an idempotency key absorbs new enqueues; a dead or cancelled job frees its key.
    private const string KeyHolding = "idempotency_key IS NOT NULL AND key_held AND state IN ('pending', 'running', 'completed')";

    // A release counts as an attempt past the free ones; a job handed back before it started (prefetched) never counts.
    private const string Counted = "(@started AND releases + 1 > @free_releases)";

    private const string Columns = "id, state, attempts, max_attempts, completions, last_error, idempotency_key, payload::text, kind, priority, errors::text, releases";

    private const string Returning = "j.id, j.lease_token, j.attempts, j.max_attempts, j.payload::text, j.enqueued_at, j.leased_until, j.kind, j.priority";

    public QueueSql(string schema, string table)
    {
        var qualified = QueueIdentifier.Quote(schema) + "." + QueueIdentifier.Quote(table);
        Qualified = qualified;
        SchemaName = schema;
        TableName = table;
        NotifyPayload = schema + "." + table;
        var createSchema = string.Equals(schema, PostgresQueueOptions.DefaultSchema, StringComparison.Ordinal)
            ? string.Empty
            : $"CREATE SCHEMA IF NOT EXISTS {QueueIdentifier.Quote(schema)};\n";

        // Read-only and lock-free (a catalog scan takes no lock on the table): what every process start runs when current.
        // A scan under the statement's snapshot, not a name lookup: after the advisory lock it must see a table another
        // replica just created (a cached negative name lookup would not).
        CheckVersion = """
            SELECT c.oid::bigint, obj_description(c.oid, 'pg_class')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relname = @name
            """;

        ListColumns = "SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = @oid::oid AND a.attnum > 0 AND NOT a.attisdropped";

        // Run only when the check above found no current table, under pg_advisory_xact_lock.
        // Lease expiry (leased_until, heartbeat_at) is in no index and no index predicate, so a heartbeat is a HOT update;
        // fillfactor 90 leaves room on the page for it.
        CreateTable = $"""
            {createSchema}CREATE TABLE {qualified} (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind            text NOT NULL,
                state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
                priority        smallint NOT NULL DEFAULT 0,
                payload         jsonb NOT NULL,
                idempotency_key text NULL,
                key_held        boolean NOT NULL DEFAULT true,
                unique_until    timestamptz NULL,
                run_at          timestamptz NOT NULL DEFAULT now(),
                enqueued_at     timestamptz NOT NULL DEFAULT now(),
                attempts        integer NOT NULL DEFAULT 0,
                max_attempts    integer NOT NULL CHECK (max_attempts > 0),
                releases        integer NOT NULL DEFAULT 0,
                lease_token     uuid NULL,
                leased_at       timestamptz NULL,
                leased_until    timestamptz NULL,
                heartbeat_at    timestamptz NULL,
                completed_at    timestamptz NULL,
                completions     integer NOT NULL DEFAULT 0,
                dead_at         timestamptz NULL,
                last_error      text NULL,
                errors          jsonb NOT NULL DEFAULT '[]'
            ) WITH (fillfactor = 90);
            """;

        CreateIndexes = $"""
            CREATE UNIQUE INDEX IF NOT EXISTS {Index(table, "_idempotency_key")} ON {qualified} (idempotency_key) WHERE {KeyHolding};
            CREATE INDEX IF NOT EXISTS {Index(table, "_pending")} ON {qualified} (priority, run_at, id) WHERE state = 'pending';
            CREATE INDEX IF NOT EXISTS {Index(table, "_running")} ON {qualified} (id) WHERE state = 'running';
            CREATE INDEX IF NOT EXISTS {Index(table, "_finished")} ON {qualified} (completed_at) WHERE state IN ('completed', 'cancelled');
            CREATE INDEX IF NOT EXISTS {Index(table, "_dead")} ON {qualified} (dead_at) WHERE state = 'dead';
            COMMENT ON TABLE {qualified} IS '{SchemaMarker}';
            """;

        // An idempotency key held past its uniqueness period is let go first, in the same round trip.
        ExpireKey = $"UPDATE {qualified} SET key_held = false WHERE idempotency_key = @key AND key_held AND unique_until <= now()";

        Enqueue = $"""
            INSERT INTO {qualified} (kind, payload, idempotency_key, unique_until, run_at, max_attempts, priority)
            VALUES (@kind, @payload::jsonb, @key, now() + @unique_for, COALESCE(@run_at, now() + COALESCE(@delay, interval '0')), @max_attempts, @priority)
            ON CONFLICT (idempotency_key) WHERE {KeyHolding} DO NOTHING
            RETURNING id
            """;

        // ON CONFLICT DO NOTHING waited for the other writer, so its row is visible to this next statement.
        FindByKey = $"SELECT id FROM {qualified} WHERE {KeyHolding} AND idempotency_key = @key";

        Notify = "SELECT pg_notify(@channel, @message)";

        EnqueueMany = $"""
            INSERT INTO {qualified} (kind, payload, run_at, max_attempts, priority)
            SELECT @kind, p::jsonb, COALESCE(@run_at, now() + COALESCE(@delay, interval '0')), @max_attempts, @priority
            FROM unnest(@payloads::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n
            RETURNING id
            """;

        // The partial index on pending (priority, run_at, id) keeps this a short index scan however many finished rows pile up.
        Dequeue = $"""
            WITH next AS (
                SELECT id FROM {qualified}
                WHERE state = 'pending' AND run_at <= now() AND attempts < max_attempts AND (@kinds::text[] IS NULL OR kind = ANY(@kinds))
                ORDER BY priority, run_at, id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {qualified} AS j
            SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(), heartbeat_at = now(),
                leased_until = now() + @visibility
            FROM next WHERE j.id = next.id
            RETURNING {Returning}
            """;

        // A global concurrency limit: dequeues of this queue take turns under a transaction-scoped advisory lock, and the
        // statement after the lock (a new snapshot) counts the running jobs every replica committed.
        DequeueLimitedLock = "SELECT pg_advisory_xact_lock(hashtextextended(@lock_name, 0))";
        DequeueLimited = $"""
            WITH room AS (SELECT GREATEST(@global - (SELECT count(*) FROM {qualified} WHERE state = 'running'), 0)::int AS n),
            next AS (
                SELECT id FROM {qualified}
                WHERE state = 'pending' AND run_at <= now() AND attempts < max_attempts AND (@kinds::text[] IS NULL OR kind = ANY(@kinds))
                ORDER BY priority, run_at, id
                LIMIT LEAST(@limit, (SELECT n FROM room))
                FOR UPDATE SKIP LOCKED)
            UPDATE {qualified} AS j
            SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(), heartbeat_at = now(),
                leased_until = now() + @visibility
            FROM next WHERE j.id = next.id
            RETURNING {Returning}
            """;

        // Touches no indexed column: a HOT update.
        Heartbeat = $"""
            UPDATE {qualified} AS j SET heartbeat_at = now(), leased_until = now() + @visibility
            FROM unnest(@ids::bigint[], @tokens::uuid[]) AS l(id, token)
            WHERE j.id = l.id AND j.lease_token = l.token AND j.state = 'running'
            RETURNING j.id, j.lease_token
            """;

        // completions = completions + 1 is the table's own witness: a double completion would show as 2. It answers the
        // lease token that completed too (the given one: the row's is cleared), since one batch can hold a lost and a new
        // lease of the same job.
        Complete = $"""
            UPDATE {qualified} AS j
            SET state = 'completed', completed_at = now(), completions = j.completions + 1,
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            FROM unnest(@ids::bigint[], @tokens::uuid[]) AS l(id, token)
            WHERE j.id = l.id AND j.lease_token = l.token AND j.state = 'running'
            RETURNING j.id, l.token
            """;

        // Backoff on the database clock so every replica agrees; the exponent is capped so the interval cannot overflow;
        // jitter spreads the retries of jobs that failed together.
        Fail = $"""
            UPDATE {qualified}
            SET attempts = attempts + 1,
                state = CASE WHEN attempts + 1 >= max_attempts THEN 'dead' ELSE 'pending' END,
                dead_at = CASE WHEN attempts + 1 >= max_attempts THEN now() END,
                run_at = CASE WHEN attempts + 1 >= max_attempts THEN run_at
                              ELSE now() + LEAST(@backoff * power(2, LEAST(attempts, 30)), @max_backoff) * (1 + @jitter * (2 * random() - 1)) END,
                last_error = @error, errors = {AppendError("attempts + 1", "@error")},
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            RETURNING state
            """;

        DeadLetter = $"""
            UPDATE {qualified}
            SET attempts = attempts + 1, state = 'dead', dead_at = now(), last_error = @error, errors = {AppendError("attempts + 1", "@error")},
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            """;

        // The first @free_releases releases are free; every later one counts as an attempt, so a job that always outlives
        // the shutdown grace ends in dead instead of looping across deploys.
        Release = $"""
            UPDATE {qualified}
            SET releases = releases + CASE WHEN @started THEN 1 ELSE 0 END,
                attempts = attempts + CASE WHEN {Counted} THEN 1 ELSE 0 END,
                state = CASE WHEN {Counted} AND attempts + 1 >= max_attempts THEN 'dead' ELSE 'pending' END,
                dead_at = CASE WHEN {Counted} AND attempts + 1 >= max_attempts THEN now() END,
                last_error = CASE WHEN {Counted} THEN 'released at shutdown ' || (releases + 1) || ' times' ELSE last_error END,
                errors = CASE WHEN {Counted} THEN {AppendError("attempts + 1", "'released at shutdown ' || (releases + 1) || ' times'")} ELSE errors END,
                run_at = now(), lease_token = NULL, leased_until = NULL, heartbeat_at = NULL, leased_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            RETURNING state
            """;

        RequeueDead = $"""
            UPDATE {qualified}
            SET state = 'pending', attempts = 0, releases = 0, run_at = now(), dead_at = NULL
            WHERE state = 'dead' AND (@id IS NULL OR id = @id)
            """;

        // Cancels a pending or running job; a running job's lease token is cleared, so its worker's heartbeat and
        // completion are refused (its handler is cancelled at once through the notification, or at the next heartbeat).
        Cancel = $"""
            UPDATE {qualified} AS j
            SET state = 'cancelled', completed_at = now(), lease_token = NULL, leased_until = NULL, heartbeat_at = NULL,
                last_error = @reason, errors = {AppendError("j.attempts", "@reason", "j.")}
            FROM (SELECT id, state FROM {qualified} WHERE id = @id FOR UPDATE) AS old
            WHERE j.id = old.id AND old.state IN ('pending', 'running')
            RETURNING old.state
            """;

        // SKIP LOCKED: a row a worker is completing right now is left alone, and replicas rescuing at once take
        // different rows; the row lock makes the two updates take turns, and whichever comes second finds its WHERE
        // no longer true (a requeued job's old token is cleared).
        RequeueStuck = $"""
            WITH stuck AS (
                SELECT id FROM {qualified}
                WHERE {StuckRunning}
                ORDER BY id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {qualified} AS j
            SET attempts = j.attempts + 1,
                state = CASE WHEN j.attempts + 1 >= j.max_attempts THEN 'dead' ELSE 'pending' END,
                dead_at = CASE WHEN j.attempts + 1 >= j.max_attempts THEN now() END,
                run_at = now(),
                last_error = 'lease lost: the worker stopped heartbeating before completing (attempt ' || (j.attempts + 1) || ')',
                errors = {AppendError("j.attempts + 1", "'lease lost: the worker stopped heartbeating before completing (attempt ' || (j.attempts + 1) || ')'", "j.")},
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL, leased_at = NULL
            FROM stuck WHERE j.id = stuck.id
            RETURNING j.state
            """;

        DeadLetterExhausted = $"""
            WITH exhausted AS (
                SELECT id FROM {qualified}
                WHERE (state = 'pending' AND attempts >= max_attempts)
                   OR ({StuckRunning} AND attempts + 1 >= max_attempts)
                ORDER BY id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {qualified} AS j
            SET state = 'dead', dead_at = now(),
                attempts = CASE WHEN j.state = 'running' THEN j.attempts + 1 ELSE j.attempts END,
                last_error = 'dead-lettered after ' || (CASE WHEN j.state = 'running' THEN j.attempts + 1 ELSE j.attempts END)
                             || ' attempts' || COALESCE(': ' || j.last_error, ''),
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            FROM exhausted WHERE j.id = exhausted.id
            """;

        Purge = $"""
            DELETE FROM {qualified} WHERE id IN (
                SELECT id FROM {qualified}
                WHERE state IN ('completed', 'cancelled') AND completed_at < now() - @older_than
                ORDER BY completed_at
                LIMIT @limit)
            """;

        // One round trip for all four signals; only the unfinished and dead rows are read (partial indexes).
        Stats = $"""
            SELECT
                count(*) FILTER (WHERE state = 'pending'),
                COALESCE(EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now()))::float8, 0),
                count(*) FILTER (WHERE ({StuckRunning}) OR (state = 'pending' AND attempts >= max_attempts)),
                count(*) FILTER (WHERE state = 'dead')
            FROM {qualified}
            WHERE state IN ('pending', 'running', 'dead')
            """;

        GetJob = $"SELECT {Columns} FROM {qualified} WHERE id = @id";
    }

    public string Qualified { get; }

    public string SchemaName { get; }

    public string TableName { get; }

    /// <summary>The notification payload that wakes this queue's workers ("schema.table").</summary>
    public string NotifyPayload { get; }

    public string CheckVersion { get; }

    public string ListColumns { get; }

    public string CreateTable { get; }

    public string CreateIndexes { get; }

    public string ExpireKey { get; }

    public string Enqueue { get; }

    public string FindByKey { get; }

    public string Notify { get; }

    public string EnqueueMany { get; }

    public string Dequeue { get; }

    public string DequeueLimitedLock { get; }

    public string DequeueLimited { get; }

    public string Heartbeat { get; }

    public string Complete { get; }

    public string Fail { get; }

    public string DeadLetter { get; }

    public string Release { get; }

    public string RequeueDead { get; }

    public string Cancel { get; }

    public string RequeueStuck { get; }

    public string DeadLetterExhausted { get; }

    public string Purge { get; }

    public string Stats { get; }

    public string GetJob { get; }

    // The table name is validated (at most 47 characters), so "<table>_idempotency_key" still fits in 63 bytes.
    private static string Index(string table, string suffix) => "\"" + table + suffix + "\"";

    // The error history: the newest @max_errors entries {attempt, at, error}, oldest first.
    private static string AppendError(string attempt, string error, string alias = "") => $"""
        (SELECT COALESCE(jsonb_agg(e ORDER BY n), '[]'::jsonb) FROM (
            SELECT e, n FROM jsonb_array_elements({alias}errors || jsonb_build_array(jsonb_build_object('attempt', {attempt}, 'at', now(), 'error', {error})))
                WITH ORDINALITY AS x(e, n)
            ORDER BY n DESC LIMIT @max_errors) AS kept)
        """;
}
