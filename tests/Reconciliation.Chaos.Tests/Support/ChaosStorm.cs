using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Queue;
using Reconciliation.TestServers;
using StackExchange.Redis;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>What one injected fault had to cause, and what it did cause.</summary>
internal sealed record FaultResult(string Fault, string Must, string Happened, bool Passed, DateTimeOffset At);

/// <summary>
/// The storm: a dedicated PostgreSQL (the orders database), a second PostgreSQL (the coordination store) and a Redis;
/// the chaos host (the orders sample with every adapter, tests/Reconciliation.ChaosHost) as its own OS process under
/// HTTP load; two queue worker processes (tests/Reconciliation.Queue.WorkerHost); faults injected one at a time and
/// each checked on the lines the host prints; invariants checked on every line and at the end.
/// </summary>
internal sealed partial class ChaosStorm : IAsyncDisposable
{
    public static readonly TimeSpan I = StormConfig.Interval;
    public static readonly TimeSpan PT = StormConfig.ProbeTimeout;

    /// <summary>The longest the host may go without reporting a tick: one interval, one probe timeout, and 3 s for a shared 2-core machine.</summary>
    public static readonly TimeSpan TickBound = I + PT + TimeSpan.FromSeconds(3);

    /// <summary>How long a fault's after-effects may keep a violation open (the latency rule's 10 s window + its 15 s verification).</summary>
    public static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a violation may stay open past <see cref="SettleBound"/> while its own signal is still beyond its clear
    /// level (the service really is still degraded, e.g. request latency on a machine another build saturates).
    /// </summary>
    public static readonly TimeSpan UnsettledBound = TimeSpan.FromMinutes(3);

    /// <summary>Consecutive ticks a violation may stay open with its signal within its clear level (the engine closes it on the first).</summary>
    public const int ClearedButOpenTicks = 3;

    private static readonly string[] LibraryApplicationNames = ["reconciliation-probe", "reconciliation-queue-probe", "reconciliation-queue-listener"];

    private readonly Action<string> _say;
    private readonly string _directory = Directory.CreateTempSubdirectory("reconciliation-chaos-").FullName;
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly List<string> _secrets = [];
    private readonly List<ChaosProcess> _workers = [];
    private readonly SortedDictionary<string, string> _fault = new(StringComparer.Ordinal);
    private readonly List<FaultResult> _results = [];
    private readonly List<string> _lateSettles = [];
    private readonly CancellationTokenSource _stop = new();
    private PostgresServer? _postgres;
    private PostgresServer? _coordination;
    private RedisServer? _redis;
    private NpgsqlDataSource? _admin;
    private NpgsqlDataSource? _coordinationAdmin;
    private ConnectionMultiplexer? _redisAdmin;
    private ServiceProvider? _queueServices;
    private ChaosProcess? _host;
    private HttpClient? _http;
    private Task? _load;
    private string _ordersConnection = string.Empty;
    private string _coordinationConnection = string.Empty;
    private DateTimeOffset? _lastTick;
    private TimeSpan _maxTickGap;
    private long _ticks;
    private long _ordersCreated;
    private long _ordersFailed;
    private long _chaosJobs;
    private Dictionary<string, long> _baseline = new(StringComparer.Ordinal);
    private long _redisClientsBaseline;
    private int _workerGeneration;

    public ChaosStorm(int seed, Action<string> say)
    {
        Seed = seed;
        _say = say;
        Random = new Random(seed);
        RulesFile = Path.Combine(_directory, "rules.json");
        FaultFile = Path.Combine(_directory, "faults");
    }

    public int Seed { get; }

    /// <summary>
    /// The host's glibc arena limit (docs/reliability.md, "The soak"): CHAOS_HOST_MALLOC_ARENA_MAX, "default" leaves
    /// glibc's own (8 arenas per core), unset means <see cref="DefaultMallocArenaMax"/>.
    /// </summary>
    public static string? HostMallocArenaMax =>
        Environment.GetEnvironmentVariable("CHAOS_HOST_MALLOC_ARENA_MAX") switch
        {
            null or "" => DefaultMallocArenaMax,
            "default" => null,
            var value => value,
        };

    public const string? DefaultMallocArenaMax = "2";

    public Random Random { get; }

    public string RulesFile { get; }

    public string FaultFile { get; }

    public LineLog Log { get; } = new();

    public IReadOnlyList<FaultResult> Results => _results;

    public IEnumerable<string> Violations => _violations;

    /// <summary>Waits for a settled service that took longer than <see cref="SettleBound"/>, and why (not failures: see <see cref="SettleAsync"/>).</summary>
    public IReadOnlyList<string> LateSettles => _lateSettles;

    public TimeSpan MaxTickGap => _maxTickGap;

    public long Ticks => Interlocked.Read(ref _ticks);

    public long OrdersCreated => Interlocked.Read(ref _ordersCreated);

    public long OrdersFailed => Interlocked.Read(ref _ordersFailed);

    public ChaosProcess Host => _host ?? throw new InvalidOperationException("not started");

    public NpgsqlDataSource Admin => _admin ?? throw new InvalidOperationException("not started");

    public IReadOnlyDictionary<string, long> Baseline => _baseline;

    private CancellationToken Ct => _stop.Token;

    /// <summary>Starts servers, the host, the workers and the load; records the session baseline once the service is healthy.</summary>
    public async Task StartAsync(TimeSpan sampleInterval)
    {
        _say($"chaos seed {Seed} (replay: CHAOS_SEED={Seed})");
        _postgres = await RequireServer.DedicatedPostgresAsync();
        _coordination = await RequireServer.DedicatedPostgresAsync();
        var redisPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        _redis = await RequireServer.DedicatedRedisAsync(new RedisServerOptions
        {
            Password = redisPassword,
            MaxMemoryBytes = 64 * 1024 * 1024,
            MaxMemoryPolicy = "allkeys-lru",
        });
        var planted = "planted" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        _secrets.AddRange([_postgres.Password, _coordination.Password, redisPassword, planted]);

        var database = await _postgres.CreateDatabaseAsync("orders", Ct);
        // Idle pooled connections close after 2 s (the app's choice, in its connection strings), so "back to baseline" is
        // seen within seconds instead of Npgsql's default 5 minutes.
        _ordersConnection = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = StormConfig.MaxPoolSize, Timeout = 3, ConnectionIdleLifetime = 2, ConnectionPruningInterval = 1 }.ConnectionString;
        _coordinationConnection = new NpgsqlConnectionStringBuilder(await _coordination.CreateDatabaseAsync("coordination", Ct)) { ConnectionIdleLifetime = 2, ConnectionPruningInterval = 1 }.ConnectionString;
        _admin = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(database) { ApplicationName = "chaos-harness", Pooling = false, Timeout = 3 }.ConnectionString).Build();
        _coordinationAdmin = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(_coordinationConnection) { ApplicationName = "chaos-harness", Pooling = false, Timeout = 3 }.ConnectionString).Build();
        var redisAdmin = ConfigurationOptions.Parse(_redis.Configuration(allowAdmin: true));
        redisAdmin.AbortOnConnectFail = false;
        redisAdmin.ClientName = "chaos-harness";
        _redisAdmin = await ConnectionMultiplexer.ConnectAsync(redisAdmin);

        await using (var setup = _admin.CreateCommand("""
            CREATE TABLE IF NOT EXISTS chaos_effects (job_id bigint PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS chaos_duplicates (job_id bigint NOT NULL);
            """))
        {
            await setup.ExecuteNonQueryAsync(Ct);
        }

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateReconciliation(o => o.Enabled = false).AddPostgresQueue("chaos_mp", o =>
        {
            o.DataSource = _admin;
            o.MaxAttempts = 1000;
            o.Rescue = false;
        });
        _queueServices = services.BuildServiceProvider();

        await File.WriteAllTextAsync(RulesFile, StormConfig.Json(), Ct);
        WriteFaults();
        Log.Observe(Check);

        var port = FreePort.Next();
        var hostEnvironment = new Dictionary<string, string>
        {
            ["CHAOS_ORDERS"] = _ordersConnection,
            ["CHAOS_REDIS"] = _redis.ConnectionString,
            ["CHAOS_COORDINATION"] = _coordinationConnection,
            ["CHAOS_PLANTED"] = planted,
        };
        if (HostMallocArenaMax is { } arenas)
        {
            hostEnvironment["MALLOC_ARENA_MAX"] = arenas;
        }

        _say($"host C allocator: MALLOC_ARENA_MAX={HostMallocArenaMax ?? "unset (glibc's default, 8 per core)"}");
        _host = ChaosProcess.Start("host", "Reconciliation.ChaosHost",
            ["--rules", RulesFile, "--fault-file", FaultFile, "--urls", $"http://127.0.0.1:{port}", "--sample-ms",
             ((int)sampleInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)],
            hostEnvironment, Log);
        var ready = await Log.WaitForAsync(l => l.Source == "host" && (l.Is("ready") || l.Is("fatal")), 0, TimeSpan.FromSeconds(90), Ct);
        if (ready is null || !ready.Is("ready"))
        {
            throw new InvalidOperationException("the chaos host did not start: " + (ready?.Raw ?? "no ready line within 90 s") + Environment.NewLine + Tail());
        }

        _http = new HttpClient { BaseAddress = new Uri(ready.String("url")!.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(5) };
        StartWorker();
        StartWorker();
        await EnqueueChaosJobsAsync(200);
        _load = Task.Run(LoadAsync, CancellationToken.None);

        // Baseline: the library's sessions once the service has ticked healthy with load running.
        var healthy = await Log.WaitForAsync(l => l.Source == "host" && l.Is("tick") && l.Raw.Contains("\"healthy\":true", StringComparison.Ordinal), 0, TimeSpan.FromSeconds(60), Ct);
        if (healthy is null)
        {
            throw new InvalidOperationException("the chaos host never reported a healthy tick" + Environment.NewLine + Tail());
        }

        // The baseline of each name is the most sessions seen over five ticks of normal load.
        for (var i = 0; i < 5; i++)
        {
            await WaitTicksAsync(1);
            foreach (var (name, count) in await SessionsAsync())
            {
                _baseline[name] = Math.Max(count, _baseline.GetValueOrDefault(name));
            }
        }

        _redisClientsBaseline = await RedisClientsAsync();
        _say("baseline sessions: " + string.Join(", ", _baseline.Select(kv => $"{kv.Key}={kv.Value}")) + $"; redis clients {_redisClientsBaseline}");
    }

    /// <summary>The fault names, in the order the seed shuffles them (the short storm injects each once).</summary>
    public static readonly string[] Faults =
    [
        "postgres-stop", "postgres-terminate", "redis-stop", "redis-client-kill", "redis-maxmemory",
        "probe-hang", "probe-throw", "probe-block", "healer-hang", "healer-throw", "healer-nofix",
        "worker-kill", "pool-saturation", "config-invalid", "coordination-down", "http-latency",
    ];

    public async Task<FaultResult> InjectAsync(string fault)
    {
        // Each fault hits a settled service, so what it causes is not mixed with the tail of the one before.
        await SettleAsync(fault);
        _say($"--- {fault}");
        var at = TimeProvider.System.GetUtcNow();
        var (must, happened, passed) = fault switch
        {
            "postgres-stop" => await PostgresStopAsync(),
            "postgres-terminate" => await PostgresTerminateAsync(),
            "redis-stop" => await RedisStopAsync(),
            "redis-client-kill" => await RedisClientKillAsync(),
            "redis-maxmemory" => await RedisMaxMemoryAsync(),
            "probe-hang" => await ProbeFaultAsync(1, "hangs (honours its token)"),
            "probe-throw" => await ProbeFaultAsync(2, "throws (planted secret in the message)"),
            "probe-block" => await ProbeFaultAsync(3, "blocks its thread 3 s, ignoring its token"),
            "healer-hang" => await HealerFaultAsync("healer-hang"),
            "healer-throw" => await HealerFaultAsync("healer-throw"),
            "healer-nofix" => await HealerFaultAsync("healer-nofix"),
            "worker-kill" => await WorkerKillAsync(),
            "pool-saturation" => await PoolSaturationAsync(),
            "config-invalid" => await InvalidReloadAsync(),
            "coordination-down" => await CoordinationDownAsync(),
            "http-latency" => await HttpLatencyAsync(),
            _ => throw new ArgumentException($"unknown fault {fault}", nameof(fault)),
        };
        var result = new FaultResult(fault, must, happened, passed, at);
        _results.Add(result);
        _say($"{(passed ? "ok  " : "FAIL")} {fault}: {happened}");
        return result;
    }

    /// <summary>
    /// Waits for a tick with no violation listed. Within <see cref="SettleBound"/> that is the rule. Past it, what keeps a
    /// violation open decides: while its own signal stays beyond its clear level, the loop is right to keep it open (the
    /// service is still degraded), so the wait goes on, up to <see cref="UnsettledBound"/>, and is reported in
    /// <see cref="LateSettles"/>. A failure of the run: a violation still open on <see cref="ClearedButOpenTicks"/> ticks
    /// in a row with its signal within its clear level (the loop failing to close it), at any time; or no settled tick
    /// within <see cref="UnsettledBound"/>.
    /// </summary>
    private async Task SettleAsync(string fault)
    {
        var start = Now;
        var watch = new SettleWatch();
        var settled = await Log.WaitForAsync(l => l.Source == "host" && l.Is("tick") && watch.Observe(l), Log.Count, UnsettledBound, Ct);
        var took = Now - start;
        if (watch.Stuck is { } stuck)
        {
            _violations.Enqueue($"before {fault}: {stuck} (the loop did not close it)");
        }
        else if (settled is null)
        {
            _violations.Enqueue($"the service did not settle (no tick without open violations) within {UnsettledBound.TotalSeconds:0} s before {fault}; open: {watch.Open}; {watch.Held}");
        }
        else if (took > SettleBound)
        {
            var note = $"before {fault}: settled after {took.TotalSeconds:0} s (bound {SettleBound.TotalSeconds:0} s), held open by its signal beyond its clear level: {watch.Held}";
            _lateSettles.Add(note);
            _say("late settle " + note);
        }
    }

    /// <summary>Stops the load, clears every fault, waits for the queues to drain, and checks the end invariants.</summary>
    public async Task<IReadOnlyList<string>> FinishAsync()
    {
        var failures = new List<string>();
        await _stop.CancelAsync();
        if (_load is not null)
        {
            await _load;
        }

        _fault.Clear();
        WriteFaults();

        // 0 jobs lost, 0 completed twice: every order's email job, and every worker-process job, completed exactly once.
        var drained = await Eventually.HoldsAsync(async () =>
            await ScalarAsync("SELECT count(*) FROM emails WHERE state <> 'completed'") == 0
            && await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state <> 'completed'") == 0, TimeSpan.FromSeconds(60));
        var orders = await ScalarAsync("SELECT count(*) FROM orders");
        var emails = await ScalarAsync("SELECT count(*) FROM emails WHERE state = 'completed' AND completions = 1");
        var orphans = await ScalarAsync("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM emails e WHERE (e.payload->>'orderId')::bigint = o.id)");
        var twice = await ScalarAsync("SELECT count(*) FROM emails WHERE completions > 1") + await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE completions > 1");
        var jobs = await ScalarAsync("SELECT count(*) FROM chaos_mp");
        var done = await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'completed' AND completions = 1");
        var effects = await ScalarAsync("SELECT count(*) FROM chaos_effects");
        var duplicates = await ScalarAsync("SELECT count(*) FROM chaos_duplicates");
        var jobLine = $"orders {orders} (HTTP: {OrdersCreated} created, {OrdersFailed} failed during faults), email jobs completed once {emails}, orders without a job {orphans}; " +
            $"worker jobs {jobs}, completed once {done}, effects {effects}, duplicate effects {duplicates}, completions > 1: {twice}";
        _say(jobLine);
        if (!drained || orders != emails || orphans != 0 || jobs != done || effects != jobs || duplicates != 0 || twice != 0 || jobs != _chaosJobs)
        {
            failures.Add("jobs lost or completed twice: " + jobLine + (drained ? string.Empty : " (the queues did not drain within 60 s)"));
        }

        // Sessions back to baseline once the storm is over.
        var sessionsOk = await Eventually.HoldsAsync(async () => SessionsWithinBaseline(await SessionsAsync()) is null, TimeSpan.FromSeconds(30));
        if (!sessionsOk)
        {
            failures.Add("sessions not back to baseline: " + SessionsWithinBaseline(await SessionsAsync()));
        }

        failures.AddRange(HealLimitViolations());
        failures.AddRange(_violations);
        if (Host.HasExited)
        {
            failures.Add("the host process exited");
        }

        var dump = Path.Combine(Environment.GetEnvironmentVariable("CHAOS_OUTPUT") is { Length: > 0 } output ? output : Path.GetTempPath(), $"reconciliation-chaos-{Seed}-{Environment.ProcessId}.jsonl");
        await File.WriteAllLinesAsync(dump, Log.All.Select(l => l.ToString()));
        _say($"every line of every process: {dump}");
        _say($"ticks {Ticks}, longest gap between ticks {_maxTickGap.TotalSeconds:0.00} s (bound {TickBound.TotalSeconds:0} s), lines {Log.Count}");
        return failures;
    }

    /// <summary>The continuous invariants, on every line as it arrives.</summary>
    private void Check(ChaosLine line)
    {
        foreach (var secret in _secrets)
        {
            if (line.Raw.Contains(secret, StringComparison.Ordinal))
            {
                _violations.Enqueue($"a secret was printed by {line.Source} in a {line.Type} line");
            }
        }

        if (line.Source != "host")
        {
            return;
        }

        switch (line.Type)
        {
            case "tick":
                var at = line.At;
                if (_lastTick is { } last && at - last > _maxTickGap)
                {
                    _maxTickGap = at - last;
                    if (_maxTickGap > TickBound)
                    {
                        _violations.Enqueue($"no tick for {_maxTickGap.TotalSeconds:0.0} s (bound {TickBound.TotalSeconds:0} s) before {at:HH:mm:ss.fff}");
                    }
                }

                _lastTick = at;
                Interlocked.Increment(ref _ticks);
                break;
            case "unobserved":
                _violations.Enqueue("unobserved task exception: " + line.String("error"));
                break;
            case "fatal":
            case "stderr":
                _violations.Enqueue($"host {line.Type}: {line.Raw}");
                break;
            case "log" when line.String("event") is "TickFailed" or "SubscriberFailed":
                _violations.Enqueue($"host logged {line.String("event")}: {line.String("message")} {line.String("error")}");
                break;
        }
    }

    private IEnumerable<string> HealLimitViolations()
    {
        var started = Log.All.Where(l => l.Source == "host" && l.IsEvent("HealStarted")).Select(l => (Resource: l.String("resource")!, Healer: l.String("healer")!, At: l.At)).ToList();
        foreach (var group in started.GroupBy(h => (h.Resource, h.Healer)))
        {
            if (!StormConfig.Limits.TryGetValue(group.Key.Healer, out var limit))
            {
                yield return $"heal by {group.Key.Healer}, which the storm never expects";
                continue;
            }

            var times = group.Select(h => h.At).Order().ToList();
            for (var i = 0; i < times.Count; i++)
            {
                var inWindow = times.Count(t => t > times[i] - limit.Window && t <= times[i]);
                if (inWindow > limit.MaxAttempts)
                {
                    yield return $"{group.Key.Healer} on {group.Key.Resource}: {inWindow} attempts within {limit.Window} (limit {limit.MaxAttempts})";
                    break;
                }
            }
        }

        var all = started.Select(h => h.At).Order().ToList();
        for (var i = 0; i < all.Count; i++)
        {
            var inWindow = all.Count(t => t > all[i] - StormConfig.HealBudgetWindow && t <= all[i]);
            if (inWindow > StormConfig.HealBudget)
            {
                yield return $"{inWindow} heals within {StormConfig.HealBudgetWindow} (budget {StormConfig.HealBudget})";
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_load is not null)
        {
            try
            {
                await _load;
            }
            catch (OperationCanceledException)
            {
            }
        }

        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _http?.Dispose();
        if (_queueServices is not null)
        {
            await _queueServices.DisposeAsync();
        }

        _redisAdmin?.Dispose();
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_coordinationAdmin is not null)
        {
            await _coordinationAdmin.DisposeAsync();
        }

        foreach (var server in new IAsyncDisposable?[] { _postgres, _coordination, _redis })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        _stop.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The host's last lines (for a failure message), never more than 60.</summary>
    public string Tail(int count = 60) =>
        string.Join(Environment.NewLine, Log.All.Where(l => !l.Is("tick") && !l.Is("sample")).TakeLast(count).Select(l => l.ToString()));

    private void StartWorker()
    {
        _workerGeneration++;
        var connection = new NpgsqlConnectionStringBuilder(_ordersConnection) { ApplicationName = "chaos-worker" }.ConnectionString;
        _workers.Add(ChaosProcess.Start($"worker-{_workerGeneration}", "Reconciliation.Queue.WorkerHost", [],
            new Dictionary<string, string> { ["QUEUE_CHAOS_CONNECTION"] = connection, ["QUEUE_CHAOS_QUEUE"] = "chaos_mp" }, Log));
    }

    private async Task EnqueueChaosJobsAsync(int count)
    {
        var queue = _queueServices!.GetRequiredService<IJobQueueFactory>().GetQueue("chaos_mp");
        var first = Interlocked.Add(ref _chaosJobs, count) - count;
        await queue.EnqueueManyAsync(Enumerable.Range((int)first, count).Select(i => new { Number = i }), new JobOptions { Kind = "chaos" }, Ct);
    }

    /// <summary>The orders API under load: create an order (row + email job in one transaction), read it back (cache-aside).</summary>
    private async Task LoadAsync()
    {
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var n = 0;
        try
        {
            while (await pace.WaitForNextTickAsync(Ct))
            {
                n++;
                try
                {
                    using var created = await _http!.PostAsJsonAsync("orders", new { Customer = $"c{n % 50}", Total = 10.5m + (n % 7) }, Ct);
                    if (!created.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref _ordersFailed);
                        continue;
                    }

                    Interlocked.Increment(ref _ordersCreated);
                    var id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct)).GetProperty("id").GetInt64();
                    using var read = await _http!.GetAsync($"orders/{id}", Ct);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !Ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _ordersFailed);
                }
            }
        }
        catch (OperationCanceledException) when (Ct.IsCancellationRequested)
        {
        }
    }

    private void WriteFaults()
    {
        var text = new StringBuilder();
        foreach (var (k, v) in _fault)
        {
            text.Append(k).Append('=').Append(v).Append('\n');
        }

        var temporary = FaultFile + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, FaultFile, overwrite: true);
    }

    private void SetFault(string key, double? value)
    {
        if (value is { } v)
        {
            _fault[key] = v.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            _fault.Remove(key);
        }

        WriteFaults();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = Admin.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(CancellationToken.None), CultureInfo.InvariantCulture);
    }

    /// <summary>Sessions per application_name: the library's on the orders database, the coordination store's on its own.</summary>
    public async Task<Dictionary<string, long>> SessionsAsync()
    {
        var sessions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in LibraryApplicationNames.Append("orders-api"))
        {
            sessions[name] = 0;
        }

        sessions["reconciliation-coordination"] = 0;
        await Read(Admin, sessions);
        if (_coordination!.IsRunning)
        {
            await Read(_coordinationAdmin!, sessions);
        }

        return sessions;

        static async Task Read(NpgsqlDataSource source, Dictionary<string, long> into)
        {
            await using var command = source.CreateCommand("SELECT application_name, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1");
            await using var reader = await command.ExecuteReaderAsync(CancellationToken.None);
            while (await reader.ReadAsync(CancellationToken.None))
            {
                var name = reader.GetString(0);
                if (into.ContainsKey(name))
                {
                    into[name] = reader.GetInt64(1);
                }
            }
        }
    }

    /// <summary>Null when every library session count is at or below its baseline (and the app's pool within its size).</summary>
    private string? SessionsWithinBaseline(Dictionary<string, long> now)
    {
        var over = now.Where(kv => kv.Key == "orders-api" ? kv.Value > StormConfig.MaxPoolSize : kv.Value > _baseline.GetValueOrDefault(kv.Key)).ToList();
        return over.Count == 0 ? null : string.Join(", ", over.Select(kv => $"{kv.Key} {kv.Value} (baseline {(kv.Key == "orders-api" ? StormConfig.MaxPoolSize : _baseline.GetValueOrDefault(kv.Key))})"));
    }

    private async Task<long> RedisClientsAsync()
    {
        var server = _redisAdmin!.GetServers()[0];
        var clients = await server.ClientListAsync();
        return clients.Count(c => c.Name != "chaos-harness");
    }

    private async Task WaitTicksAsync(int count)
    {
        var target = Ticks + count;
        var from = Log.Count;
        var reached = await Log.WaitForAsync(_ => Ticks >= target, from, TimeSpan.FromTicks(TickBound.Ticks * (count + 1)), Ct);
        if (reached is null && Ticks < target)
        {
            _violations.Enqueue($"waited {TickBound.TotalSeconds * (count + 1):0} s for {count} ticks: only {Ticks - target + count} came");
        }
    }

    private async Task<(ChaosLine? Line, TimeSpan Took)> ExpectAsync(Func<ChaosLine, bool> match, int from, TimeSpan bound, DateTimeOffset since)
    {
        var line = await Log.WaitForAsync(l => l.Source == "host" && match(l), from, bound + TimeSpan.FromSeconds(30), Ct);
        return (line, line is null ? TimeSpan.MaxValue : line.At - since);
    }

    private static string Seconds(TimeSpan took) => took == TimeSpan.MaxValue ? "never" : $"{Math.Max(0, took.TotalSeconds):0.0} s";
}
