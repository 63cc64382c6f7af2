namespace Reconciliation.Queue;

/// <summary>
/// The statements of one queue, built once from its validated, quoted table name. Every value is a parameter; the only
/// text spliced in is the quoted identifier.
/// </summary>
internal sealed class QueueSql
{
    // A job whose lease expired, or whose worker stopped heartbeating (@heartbeat_timeout NULL turns that check off).
    private const string StuckRunning = "state = 'running' AND (leased_until < now() OR heartbeat_at < now() - @heartbeat_timeout)";

    private const string Columns = "id, state, attempts, max_attempts, completions, last_error, idempotency_key, payload::text";

    public QueueSql(string schema, string table)
    {
        var qualified = QueueIdentifier.Quote(schema) + "." + QueueIdentifier.Quote(table);
        var createSchema = string.Equals(schema, PostgresQueueOptions.DefaultSchema, StringComparison.Ordinal)
            ? string.Empty
            : $"CREATE SCHEMA IF NOT EXISTS {QueueIdentifier.Quote(schema)};\n";

        // Serialized by an advisory lock: two replicas migrating at once would otherwise race on the catalog.
        Migrate = $"""
            SELECT pg_advisory_xact_lock(hashtextextended(@lock_name, 0));
            {createSchema}CREATE TABLE IF NOT EXISTS {qualified} (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'completed', 'dead')),
                payload         jsonb NOT NULL,
                idempotency_key text NULL,
                run_at          timestamptz NOT NULL DEFAULT now(),
                enqueued_at     timestamptz NOT NULL DEFAULT now(),
                attempts        integer NOT NULL DEFAULT 0,
                max_attempts    integer NOT NULL CHECK (max_attempts > 0),
                lease_token     uuid NULL,
                leased_at       timestamptz NULL,
                leased_until    timestamptz NULL,
                heartbeat_at    timestamptz NULL,
                completed_at    timestamptz NULL,
                completions     integer NOT NULL DEFAULT 0,
                dead_at         timestamptz NULL,
                last_error      text NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS {Index(table, "_idempotency_key")} ON {qualified} (idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {Index(table, "_pending")} ON {qualified} (run_at, id) WHERE state = 'pending';
            CREATE INDEX IF NOT EXISTS {Index(table, "_running")} ON {qualified} (leased_until) WHERE state = 'running';
            CREATE INDEX IF NOT EXISTS {Index(table, "_completed")} ON {qualified} (completed_at) WHERE state = 'completed';
            CREATE INDEX IF NOT EXISTS {Index(table, "_dead")} ON {qualified} (dead_at) WHERE state = 'dead';
            """;

        Enqueue = $"""
            INSERT INTO {qualified} (payload, idempotency_key, run_at, max_attempts)
            VALUES (@payload::jsonb, @key, now() + COALESCE(@delay, interval '0'), @max_attempts)
            ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
            """;

        FindByKey = $"SELECT id FROM {qualified} WHERE idempotency_key = @key";

        EnqueueMany = $"""
            INSERT INTO {qualified} (payload, max_attempts)
            SELECT p::jsonb, @max_attempts FROM unnest(@payloads::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n
            RETURNING id
            """;

        // The partial index on pending (run_at, id) keeps this a short index scan however many completed rows pile up.
        Dequeue = $"""
            WITH next AS (
                SELECT id FROM {qualified}
                WHERE state = 'pending' AND run_at <= now() AND attempts < max_attempts
                ORDER BY run_at, id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {qualified} AS j
            SET state = 'running', lease_token = gen_random_uuid(), leased_at = now(), heartbeat_at = now(),
                leased_until = now() + @visibility
            FROM next WHERE j.id = next.id
            RETURNING j.id, j.lease_token, j.attempts, j.max_attempts, j.payload::text, j.enqueued_at, j.leased_until
            """;

        Heartbeat = $"""
            UPDATE {qualified} SET heartbeat_at = now(), leased_until = now() + @visibility
            WHERE id = @id AND lease_token = @token AND state = 'running'
            """;

        // completions = completions + 1 is the table's own witness: a double completion would show as 2.
        Complete = $"""
            UPDATE {qualified}
            SET state = 'completed', completed_at = now(), completions = completions + 1,
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            """;

        // Backoff on the database clock so every replica agrees; the exponent is capped so the interval cannot overflow.
        Fail = $"""
            UPDATE {qualified}
            SET attempts = attempts + 1,
                state = CASE WHEN attempts + 1 >= max_attempts THEN 'dead' ELSE 'pending' END,
                dead_at = CASE WHEN attempts + 1 >= max_attempts THEN now() END,
                run_at = CASE WHEN attempts + 1 >= max_attempts THEN run_at
                              ELSE now() + LEAST(@backoff * power(2, LEAST(attempts, 30)), @max_backoff) END,
                last_error = @error, lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            RETURNING state
            """;

        DeadLetter = $"""
            UPDATE {qualified}
            SET attempts = attempts + 1, state = 'dead', dead_at = now(), last_error = @error,
                lease_token = NULL, leased_until = NULL, heartbeat_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            """;

        Release = $"""
            UPDATE {qualified}
            SET state = 'pending', run_at = now(), lease_token = NULL, leased_until = NULL, heartbeat_at = NULL, leased_at = NULL
            WHERE id = @id AND lease_token = @token AND state = 'running'
            """;

        RequeueDead = $"""
            UPDATE {qualified}
            SET state = 'pending', attempts = 0, run_at = now(), dead_at = NULL
            WHERE state = 'dead' AND (@id IS NULL OR id = @id)
            """;

        // SKIP LOCKED: a row a worker is completing right now is left alone; the row lock makes the two updates take
        // turns, and whichever comes second finds its WHERE no longer true (a requeued job's old token is cleared).
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
                WHERE state = 'completed' AND completed_at < now() - @older_than
                ORDER BY completed_at
                LIMIT @limit)
            """;

        // One round trip for all four signals; only the non-completed rows are read (partial indexes).
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

    public string Migrate { get; }

    // The table name is validated (at most 47 characters), so "<table>_idempotency_key" still fits in 63 bytes.
    private static string Index(string table, string suffix) => "\"" + table + suffix + "\"";

    public string Enqueue { get; }

    public string FindByKey { get; }

    public string EnqueueMany { get; }

    public string Dequeue { get; }

    public string Heartbeat { get; }

    public string Complete { get; }

    public string Fail { get; }

    public string DeadLetter { get; }

    public string Release { get; }

    public string RequeueDead { get; }

    public string RequeueStuck { get; }

    public string DeadLetterExhausted { get; }

    public string Purge { get; }

    public string Stats { get; }

    public string GetJob { get; }
}
