namespace Reconciliation.Redis;

/// <summary>
/// The store's Lua scripts, each one atomic on the server. Every value (tokens, holders, times, record fields) is an
/// argument, never text pasted into a script.
/// </summary>
internal static class RedisCoordinationScripts
{
    /// <summary>
    /// Takes the lease. KEYS: the lease hash, the resource's token counter. ARGV: holder, time to live (ms).
    /// Returns the new fencing token, or nil while someone holds it. The counter never expires, so tokens only grow.
    /// </summary>
    public const string Acquire = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return false
        end
        local token = redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[1], 'token', token, 'holder', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return token
        """;

    /// <summary>Extends the lease if it is still ours. KEYS: the lease hash. ARGV: token, time to live (ms). Returns 1 or 0.</summary>
    public const string Renew = """
        if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """;

    /// <summary>Deletes the lease if it is still ours. KEYS: the lease hash. ARGV: token. Returns 1 or 0.</summary>
    public const string Release = """
        if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    /// <summary>The reply of <see cref="Record"/> when the record's lease token was superseded.</summary>
    public const long Fenced = -1;

    /// <summary>
    /// Appends one record. KEYS: the stream, the set of stored record ids, the resource's token counter. ARGV: record id,
    /// lease token (empty for none), the stream's length cap, then the record's field/value pairs.
    /// Returns 1 (stored), 0 (already stored: a replay) or -1 (<see cref="Fenced"/>: a later holder took the lease, so
    /// the record is refused and not stored). A token above the counter (the server lost its data) raises the counter,
    /// so tokens issued afterwards are greater still.
    /// </summary>
    public const string Record = """
        if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
          return 0
        end
        if ARGV[2] ~= '' then
          local token = tonumber(ARGV[2])
          local current = tonumber(redis.call('GET', KEYS[3]) or '0')
          if token < current then
            return -1
          end
          if token > current then
            redis.call('SET', KEYS[3], ARGV[2])
          end
        end
        local cap = tonumber(ARGV[3])
        local fields = {}
        for i = 4, #ARGV do
          fields[#fields + 1] = ARGV[i]
        end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', unpack(fields))
        redis.call('ZADD', KEYS[2], tonumber(string.match(id, '^(%d+)')), ARGV[1])
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(2 * cap) - 1)
        return 1
        """;

    /// <summary>
    /// Reads the newest records and filters the attempts. KEYS: the stream. ARGV: how many records to read (the cap),
    /// since (UTC ticks, 19 digits), healer (empty: any), resource (empty: any), replica (empty: any), mode ('count' or
    /// 'times'). Returns the number of matching attempts, or their start times (UTC ticks) when mode is 'times'.
    /// Times are fixed-width digit strings, so comparing them as strings is exact.
    /// </summary>
    public const string Attempts = """
        local entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', tonumber(ARGV[1]))
        local since, healer, resource, replica, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
        local count = 0
        local times = {}
        for _, entry in ipairs(entries) do
          local f = {}
          local kv = entry[2]
          for i = 1, #kv, 2 do
            f[kv[i]] = kv[i + 1]
          end
          if f['attempt'] == '1' and f['started'] >= since
            and (healer == '' or f['healer'] == healer)
            and (resource == '' or f['resource'] == resource)
            and (replica == '' or f['replica'] == replica) then
            count = count + 1
            if mode == 'times' then
              times[#times + 1] = f['started']
            end
          end
        end
        if mode == 'times' then
          return times
        end
        return count
        """;

    /// <summary>
    /// Compare-and-swap of the operator controls. KEYS: the controls hash. ARGV: the expected version (0: none yet), the
    /// document. Returns 1 when written (as the expected version + 1), 0 when another writer came first.
    /// </summary>
    public const string WriteControls = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
        if current ~= tonumber(ARGV[1]) then
          return 0
        end
        redis.call('HSET', KEYS[1], 'version', current + 1, 'document', ARGV[2])
        return 1
        """;
}
